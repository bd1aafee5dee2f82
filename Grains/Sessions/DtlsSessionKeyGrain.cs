using NHub.Grains.Services;
using Orleans.Concurrency;

namespace NHub.Grains.Sessions;

/// <summary>Hands the gateways the session-store key (see <see cref="IDtlsSessionKeyGrain"/>); a stateless worker on each silo.</summary>
[StatelessWorker]
public sealed class DtlsSessionKeyGrain(CredentialProtector protector) : Grain, IDtlsSessionKeyGrain
{
    public Task<byte[]> GetKey() => Task.FromResult(protector.DeriveKey(IDtlsSessionKeyGrain.Purpose));
}
