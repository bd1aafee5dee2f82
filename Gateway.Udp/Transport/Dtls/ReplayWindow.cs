namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// A 64-record sliding window of sequence numbers already authenticated (RFC 6347 §4.1.2.6). Marked only after the
/// record authenticated, so a forged sequence number cannot poison it. Exported and restored with the session
/// (docs/stateless-gateway.md): a restored window counts every number at or below its top as seen.
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

    /// <summary>Marks <paramref name="sequence"/> received; true when it is newer than every record before it.</summary>
    public bool Mark(long sequence)
    {
        if (!_started)
        {
            _started = true;
            _latest = sequence;
            _seen = 1;
            return true;
        }
        if (sequence > _latest)
        {
            var shift = sequence - _latest;
            _seen = shift >= Width ? 1 : (_seen << (int)shift) | 1;
            _latest = sequence;
            return true;
        }
        if (_latest - sequence < Width)
        {
            _seen |= 1UL << (int)(_latest - sequence);
        }
        return false;
    }

    /// <summary>The top and the window below it (bit i: top - i seen); top -1 before any record.</summary>
    public readonly (long Top, ulong Window) Export() => _started ? (_latest, _seen) : (-1, 0);

    /// <summary>
    /// A window restored after a takeover: "accept conservatively". Every number up to <paramref name="top"/> counts as
    /// seen, also those the saved window had not marked, because the previous owner may have accepted records after its
    /// last checkpoint. A genuine late record below the top is lost (the CoAP layer retransmits it in a new record). What
    /// this cannot stop: a copy of a record newer than the checkpoint, which the previous owner accepted, is accepted
    /// once more (docs/dtls-sequence-reservation.md says why that is bounded and harmless).
    /// </summary>
    public static ReplayWindow Restored(long top)
    {
        var window = default(ReplayWindow);
        if (top >= 0)
        {
            window._started = true;
            window._latest = top;
            window._seen = ulong.MaxValue;
        }
        return window;
    }
}
