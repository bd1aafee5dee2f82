using NHub.Gateway.Resources;
using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Backend;

/// <summary>
/// The DTLS session store on the platform's grains (<see cref="IDtlsSessionGrain"/>, one per receive Connection ID,
/// persisted with the deployment's grain storage: PostgreSQL in production, memory embedded), as this gateway.
/// </summary>
public sealed class GrainDtlsSessionStore(IGrainFactory grains, GatewayIdentity gateway) : IDtlsSessionStore
{
    public Task<bool> StoreAsync(DtlsSessionSnapshot session, long writeSequenceLimit, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        Grain(session.ReceiveConnectionId).Store(session, gateway.Id, writeSequenceLimit, expiresAt).WaitAsync(cancellationToken);

    public Task<DtlsSessionLease?> LoadAsync(byte[] connectionId, CancellationToken cancellationToken) =>
        Grain(connectionId).Load().WaitAsync(cancellationToken);

    public Task<DtlsSessionLease?> TakeOverAsync(byte[] connectionId, long blockSize, CancellationToken cancellationToken) =>
        Grain(connectionId).TakeOver(gateway.Id, blockSize).WaitAsync(cancellationToken);

    public Task<bool> ExtendAsync(byte[] connectionId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        Grain(connectionId).Extend(gateway.Id, writeSequenceLimit, replay, expiresAt).WaitAsync(cancellationToken);

    public Task ReleaseAsync(byte[] connectionId, DtlsReplayMark replay, CancellationToken cancellationToken) =>
        Grain(connectionId).Release(gateway.Id, replay).WaitAsync(cancellationToken);

    public Task RemoveAsync(byte[] connectionId, CancellationToken cancellationToken) =>
        Grain(connectionId).Remove(gateway.Id).WaitAsync(cancellationToken);

    private IDtlsSessionGrain Grain(byte[] connectionId) => grains.GetGrain<IDtlsSessionGrain>(Convert.ToHexStringLower(connectionId));
}
