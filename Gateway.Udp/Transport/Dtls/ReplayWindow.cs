namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// A 64-record sliding window of sequence numbers already delivered (RFC 6347 §4.1.2.6), kept beside
/// BouncyCastle's own so a replayed record is dropped before it reaches the record layer. Marked only after
/// BouncyCastle authenticated and delivered the record, so a forged sequence number cannot poison it.
/// </summary>
internal struct ReplayWindow
{
    private const int Width = 64;
    private long _latest;
    private ulong _seen;
    private bool _started;

    public readonly bool IsReplay(long sequence)
    {
        if (!_started || sequence > _latest)
        {
            return false;
        }
        var age = _latest - sequence;
        return age >= Width || (_seen & (1UL << (int)age)) != 0;
    }

    public void Mark(long sequence)
    {
        if (!_started)
        {
            _started = true;
            _latest = sequence;
            _seen = 1;
            return;
        }
        if (sequence > _latest)
        {
            var shift = sequence - _latest;
            _seen = shift >= Width ? 1 : (_seen << (int)shift) | 1;
            _latest = sequence;
        }
        else if (_latest - sequence < Width)
        {
            _seen |= 1UL << (int)(_latest - sequence);
        }
    }
}
