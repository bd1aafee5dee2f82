namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The outgoing epoch-1 sequence numbers of one session, handed out only below a limit that the session store has
/// made durable (docs/dtls-sequence-reservation.md): a gateway that takes the session over starts at that limit, so no
/// (key, sequence number) pair, hence no AEAD nonce, is ever used twice, even after a kill -9 in the middle of a block.
/// A state machine without I/O: the transport persists <see cref="PendingLimit"/> and reports back.
/// </summary>
internal sealed class SequenceReservation
{
    /// <summary>RFC 6347 §4.1: sequence numbers are 48-bit and must not wrap within an epoch.</summary>
    public const long MaxSequence = (1L << 48) - 1;

    private readonly long _blockSize;
    private long _next;
    private long _limit;

    /// <param name="next">The first sequence number this owner may use.</param>
    /// <param name="limit">The durable exclusive limit (<see cref="MaxSequence"/> + 1 for a session that never leaves the process).</param>
    /// <param name="blockSize">How many numbers each extension reserves; an extension is asked for when half a block is left.</param>
    public SequenceReservation(long next, long limit, long blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(next);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, next);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 2);
        _next = next;
        _limit = Math.Min(limit, MaxSequence + 1);
        _blockSize = blockSize;
    }

    /// <summary>The next number to use.</summary>
    public long Next => _next;

    /// <summary>The durable exclusive limit.</summary>
    public long Limit => _limit;

    /// <summary>The limit being made durable, or 0 when no extension is in flight.</summary>
    public long PendingLimit { get; private set; }

    /// <summary>
    /// Takes the next sequence number; false when the durable limit is reached (the record must not be sent). Sets
    /// <paramref name="extend"/> when the caller must now persist <see cref="PendingLimit"/> (once per extension).
    /// </summary>
    public bool TryTake(out long sequence, out bool extend)
    {
        extend = false;
        if (_next >= _limit)
        {
            sequence = -1;
            extend = RequestExtension();
            return false;
        }
        sequence = _next++;
        if (_limit - _next <= _blockSize / 2)
        {
            extend = RequestExtension();
        }
        return true;
    }

    /// <summary>The store made <paramref name="limit"/> durable: numbers below it may be used.</summary>
    public void Extended(long limit)
    {
        _limit = Math.Max(_limit, Math.Min(limit, MaxSequence + 1));
        PendingLimit = 0;
    }

    /// <summary>The store could not persist the extension (it will be asked for again by the next send).</summary>
    public void ExtensionFailed() => PendingLimit = 0;

    private bool RequestExtension()
    {
        if (PendingLimit != 0 || _limit > MaxSequence)
        {
            return false;
        }
        PendingLimit = Math.Min(_limit + _blockSize, MaxSequence + 1);
        return true;
    }
}
