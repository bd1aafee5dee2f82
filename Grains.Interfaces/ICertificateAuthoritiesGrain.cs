namespace NHub.Grains;

/// <summary>A certificate authority the deployment trusts to name its devices (its certificate, never a key).</summary>
[GenerateSerializer, Immutable, Alias("nhub.CertificateAuthorityInfo")]
public sealed record CertificateAuthorityInfo(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Fingerprint,
    [property: Id(2)] string Subject,
    [property: Id(3)] DateTimeOffset NotBefore,
    [property: Id(4)] DateTimeOffset NotAfter,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] byte[] Certificate);

/// <summary>The trusted authorities as a gateway holds them: <see cref="Version"/> grows with every change.</summary>
[GenerateSerializer, Immutable, Alias("nhub.TrustAnchors")]
public sealed record TrustAnchors(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<byte[]> Certificates);

/// <summary>
/// The deployment's certificate authorities (<c>/api/v4/manage/certificate-authorities</c>): a device certificate that
/// chains to one of them, names an existing device in its subject CN and is not revoked authenticates that device
/// (docs/device-certificates.md). One grain, key 0, persisted.
/// </summary>
[Alias("nhub.ICertificateAuthoritiesGrain")]
public interface ICertificateAuthoritiesGrain : IGrainWithIntegerKey
{
    /// <summary>Adds the authority; null when one with the same fingerprint is registered already.</summary>
    [Alias("Add")]
    Task<CertificateAuthorityInfo?> Add(string fingerprint, string subject, DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] certificate);

    [Alias("List")]
    Task<IReadOnlyList<CertificateAuthorityInfo>> List();

    /// <summary>False when no such authority. Devices it issued stop authenticating at their next handshake.</summary>
    [Alias("Remove")]
    Task<bool> Remove(Guid id);

    [Alias("GetTrustAnchors")]
    Task<TrustAnchors> GetTrustAnchors();
}
