using NHub.Gateway.Security;

namespace NHub.Gateway.Backend;

/// <summary>Device certificates through the grain layer: the authorities grain and the device twin.</summary>
public sealed class GrainDeviceCertificateDirectory(IGrainFactory grains) : IDeviceCertificateDirectory
{
    public async ValueTask<TrustAnchors> GetTrustAnchorsAsync(CancellationToken ct) =>
        await grains.GetGrain<ICertificateAuthoritiesGrain>(0).GetTrustAnchors().WaitAsync(ct);

    public async ValueTask<EnrollOutcome> EnrollAsync(string deviceId, KeyCredentialFacts facts, CancellationToken ct) =>
        await grains.GetGrain<IDeviceGrain>(deviceId).EnrollCertificate(facts).WaitAsync(ct);
}
