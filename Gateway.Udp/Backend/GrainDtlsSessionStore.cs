using NHub.Gateway.Resources;
using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Backend;

/// <summary>
/// The DTLS session store on the platform's grains (<see cref="IDtlsSessionGrain"/>, one per receive Connection ID,
/// persisted with the deployment's grain storage: PostgreSQL in production, memory embedded), as this gateway.
/// </summary>
public sealed class GrainDtlsSessionStore(IGrainFactory grains, GatewayIdentity gateway) : IDtlsSessionStore
{
    public Task<bool> StoreAsync(DtlsSessionSnapshot session, Guid leaseId, long writeSequenceLimit, DateTimeOffset expiresAt, bool retry, CancellationToken cancellationToken) =>
        Grain(session.ReceiveConnectionId).Store(session, gateway.Id, leaseId, writeSequenceLimit, expiresAt, retry).WaitAsync(cancellationToken);

    public Task<DtlsSessionLease?> LoadAsync(byte[] connectionId, CancellationToken cancellationToken) =>
        Grain(connectionId).Load().WaitAsync(cancellationToken);

    public Task<DtlsSessionLease?> TakeOverAsync(byte[] connectionId, Guid leaseId, long blockSize, long provingSequence, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        Grain(connectionId).TakeOver(gateway.Id, leaseId, blockSize, provingSequence, expiresAt).WaitAsync(cancellationToken);

    public Task<bool> ExtendAsync(byte[] connectionId, Guid leaseId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        Grain(connectionId).Extend(leaseId, writeSequenceLimit, replay, expiresAt).WaitAsync(cancellationToken);

    public Task ReleaseAsync(byte[] connectionId, Guid leaseId, DtlsReplayMark replay, CancellationToken cancellationToken) =>
        Grain(connectionId).Release(leaseId, replay).WaitAsync(cancellationToken);

    public Task RemoveAsync(byte[] connectionId, Guid leaseId, CancellationToken cancellationToken) =>
        Grain(connectionId).Remove(leaseId).WaitAsync(cancellationToken);

    private IDtlsSessionGrain Grain(byte[] connectionId) => grains.GetGrain<IDtlsSessionGrain>(Convert.ToHexStringLower(connectionId));
}
