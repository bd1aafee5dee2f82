namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Where established sessions with a Connection ID are kept outside the gateway process, so that any gateway
/// receiving a record with the CID can continue the session without a handshake (docs/stateless-gateway.md). Keyed
/// by the receive CID. The transport calls it off the receive path; every call may fail (the store is down), and the
/// transport then keeps the session local and sends nothing beyond its durable sequence limit.
/// </summary>
public interface IDtlsSessionStore
{
    /// <summary>A handshake completed here: persist the session, owned by this gateway, with its first durable sequence limit.</summary>
    Task<bool> StoreAsync(DtlsSessionSnapshot session, long writeSequenceLimit, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Reads a session without changing its owner (to check that a record authenticates before taking it over); null when unknown.</summary>
    Task<DtlsSessionLease?> LoadAsync(byte[] connectionId, CancellationToken cancellationToken);

    /// <summary>Makes this gateway the owner and leases it a fresh sequence block past every number used before; null when gone.</summary>
    Task<DtlsSessionLease?> TakeOverAsync(byte[] connectionId, long blockSize, CancellationToken cancellationToken);

    /// <summary>Moves the durable sequence limit up and checkpoints the replay window; false when this gateway is no longer the owner.</summary>
    Task<bool> ExtendAsync(byte[] connectionId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Graceful shutdown: checkpoint the replay window and leave the session for any gateway.</summary>
    Task ReleaseAsync(byte[] connectionId, DtlsReplayMark replay, CancellationToken cancellationToken);

    /// <summary>The session ended: erase it.</summary>
    Task RemoveAsync(byte[] connectionId, CancellationToken cancellationToken);
}
