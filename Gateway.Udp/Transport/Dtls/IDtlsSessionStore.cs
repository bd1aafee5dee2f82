namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Where established sessions with a Connection ID are kept outside the gateway process, so that any gateway
/// receiving a record with the CID can continue the session without a handshake (docs/stateless-gateway.md). Keyed
/// by the receive CID. The transport calls it off the receive path; every call may fail (the store is down), and the
/// transport then keeps the session local and sends nothing beyond its durable sequence limit. Each copy of a
/// session (the handshake's, each takeover's) has its own lease id; only the owning lease may extend, release or erase.
/// </summary>
public interface IDtlsSessionStore
{
    /// <summary>
    /// A handshake completed here: persist the session, owned by this gateway, with its first durable sequence limit.
    /// <paramref name="retry"/>: the first attempt failed or timed out, so it may have landed, been taken over and
    /// erased since; a retry only confirms (and grows) a record this lease still owns and never writes a new one,
    /// because a new one would let this copy lease numbers another owner already used (false: drop the copy).
    /// </summary>
    Task<bool> StoreAsync(DtlsSessionSnapshot session, Guid leaseId, long writeSequenceLimit, DateTimeOffset expiresAt, bool retry, CancellationToken cancellationToken);

    /// <summary>Reads a session without changing its owner (to check that a record authenticates before taking it over); null when unknown.</summary>
    Task<DtlsSessionLease?> LoadAsync(byte[] connectionId, CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="leaseId"/> (a copy at this gateway) the owner and leases it a fresh sequence block past every
    /// number used before, for the record numbered <paramref name="provingSequence"/> that authenticated; null when the
    /// session is gone or that record proves nothing new (a replay).
    /// </summary>
    Task<DtlsSessionLease?> TakeOverAsync(byte[] connectionId, Guid leaseId, long blockSize, long provingSequence, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Moves the durable sequence limit up and checkpoints the replay window; false when this gateway is no longer the owner.</summary>
    Task<bool> ExtendAsync(byte[] connectionId, Guid leaseId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Graceful shutdown: checkpoint the replay window and leave the session for any gateway.</summary>
    Task ReleaseAsync(byte[] connectionId, Guid leaseId, DtlsReplayMark replay, CancellationToken cancellationToken);

    /// <summary>The session ended: erase it.</summary>
    Task RemoveAsync(byte[] connectionId, Guid leaseId, CancellationToken cancellationToken);
}
