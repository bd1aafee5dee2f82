namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The record layer of one established session after the handshake (RFC 6347 §4.1, epoch 1): its cipher, its
/// Connection IDs, the outgoing sequence numbers (<see cref="SequenceReservation"/>) and the replay window. Everything
/// in it can be rebuilt from a <see cref="DtlsSessionSnapshot"/>, so the session can continue in another process
/// (docs/stateless-gateway.md). Not thread-safe: used under the peer's lock.
/// </summary>
internal sealed class SessionRecordLayer : IDisposable
{
    /// <summary>The only application epoch: the gateway never renegotiates.</summary>
    public const ushort Epoch = 1;

    private readonly DtlsRecordCipher _cipher;
    private readonly byte[] _sendCid;
    private byte[]? _finalFlight;
    private long _finalFlightSentAt;
    private ReplayWindow _replay;

    public SessionRecordLayer(DtlsRecordCipher cipher, byte[]? receiveCid, byte[] sendCid, SequenceReservation sequence, ReplayWindow replay, byte[]? finalFlight)
    {
        _cipher = cipher;
        ReceiveConnectionId = receiveCid;
        _sendCid = sendCid;
        Sequence = sequence;
        _replay = replay;
        _finalFlight = finalFlight;
    }

    /// <summary>The CID the client writes in its records (ours), null when none was negotiated.</summary>
    public byte[]? ReceiveConnectionId { get; }

    public SequenceReservation Sequence { get; }

    /// <summary>Records authenticated since the last checkpoint of the replay window (a checkpoint is due after <see cref="DtlsOptions.ReplayCheckpointRecords"/>).</summary>
    public long ReceivedSinceCheckpoint { get; private set; }

    /// <summary>The largest content a record can carry within <paramref name="datagramLimit"/>.</summary>
    public int SendLimit(int datagramLimit)
    {
        var limit = datagramLimit - _cipher.MaxOverhead(_sendCid.Length);
        return Math.Max(0, limit);
    }

    /// <summary>A record at this sequence number was already authenticated (or is too old to tell).</summary>
    public bool IsReplay(long sequence) => _replay.IsReplay(sequence);

    /// <summary>
    /// Seals <paramref name="content"/> as one record of <paramref name="contentType"/> into <paramref name="output"/>.
    /// -1 when no durable sequence number is left (the record must not go out; <paramref name="extend"/> asks the
    /// caller to persist <see cref="SequenceReservation.PendingLimit"/>).
    /// </summary>
    public int Seal(byte contentType, ReadOnlySpan<byte> content, Span<byte> output, out bool extend)
    {
        if (!Sequence.TryTake(out var sequence, out extend))
        {
            return -1;
        }
        return _cipher.Seal(contentType, Epoch, sequence, _sendCid, content, output);
    }

    /// <summary>
    /// Authenticates and decrypts one epoch-1 record. On success marks it received and says whether it is the newest
    /// authenticated so far (RFC 9146 §6: only the newest may move the session).
    /// </summary>
    public bool TryOpen(in DtlsRecord record, Span<byte> plaintext, out int length, out byte contentType, out bool newest)
    {
        newest = false;
        if (!_cipher.TryOpen(record.OuterType, Epoch, record.Sequence, record.ConnectionId, record.Fragment, plaintext, out length, out contentType))
        {
            return false;
        }
        newest = _replay.Mark(record.Sequence);
        ReceivedSinceCheckpoint++;
        return true;
    }

    /// <summary>The replay window as the store keeps it; resets the checkpoint counter.</summary>
    public (long Top, ulong Window) CheckpointReplay()
    {
        ReceivedSinceCheckpoint = 0;
        return _replay.Export();
    }

    /// <summary>The replay window without resetting anything (for a final checkpoint).</summary>
    public (long Top, ulong Window) Replay => _replay.Export();

    /// <summary>
    /// The client retransmitted its last flight (our Finished was lost): send ours again, at most once a second. The
    /// very bytes BouncyCastle sent, so no new sequence number is used. Null once the client proved it has our
    /// Finished (it sent application data), or for a session that came from the store.
    /// </summary>
    public ReadOnlySpan<byte> FinalFlightToResend(long now, long frequency)
    {
        if (_finalFlight is null || now - _finalFlightSentAt < frequency)
        {
            return default;
        }
        _finalFlightSentAt = now;
        return _finalFlight;
    }

    /// <summary>Application data arrived: the client has our Finished, the copy of the flight is no longer needed.</summary>
    public void HandshakeConfirmed() => _finalFlight = null;

    public void Dispose() => _cipher.Dispose();
}
