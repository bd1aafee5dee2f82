using NHub.Gateway.Security;

namespace NHub.Gateway.Backend;

/// <summary>PSK lookup through the grain layer: identity index → device twin (key decrypted there).</summary>
public sealed class GrainPskCredentialSource(IGrainFactory grains) : IPskCredentialSource
{
    public async ValueTask<PskCredential?> FindAsync(string identity, CancellationToken ct)
    {
        var lookup = await grains.GetGrain<IPskIdentityGrain>(identity).Lookup().WaitAsync(ct);
        return lookup is null
            ? null
            : new PskCredential(identity, lookup.DeviceId, lookup.Key,
                lookup.Status == CredentialStatus.Active ? PskCredentialStatus.Active : PskCredentialStatus.Revoked,
                lookup.AuthType, lookup.Pinned);
    }
}
