using System.Security.Cryptography.X509Certificates;

namespace NHub.ManagementApi.Endpoints;

/// <summary>
/// <c>/certificate-authorities</c>: the authorities whose device certificates the gateways accept. A device
/// certificate chaining to one of them, whose subject CN names an existing device, authenticates that device with no
/// per-device provisioning; the gateway records it on the device at the first handshake, where it can be revoked.
/// Gateways see a change within <c>Gateway:Credentials:TrustAnchorRefresh</c> (docs/device-certificates.md).
/// </summary>
public static class CertificateAuthoritiesApi
{
    public static RouteGroupBuilder MapCertificateAuthoritiesApi(this RouteGroupBuilder api)
    {
        var authorities = api.MapGroup("/certificate-authorities").WithTags("Certificate authorities");

        authorities.MapPost("", AddAuthority)
            .WithName("AddCertificateAuthority")
            .WithSummary("Trust a certificate authority for device certificates")
            .WithDescription("Body: {\"certificate\": \"<PEM>\"}, a root CA certificate (self-issued, basic constraints CA=true) valid now; " +
                "devices send any intermediates in their handshake. " +
                "409 when it is registered already.")
            .AcceptsJson<CertificateAuthorityRequest>()
            .ProducesProblem(StatusCodes.Status409Conflict);

        authorities.MapGet("", ListAuthorities)
            .WithName("ListCertificateAuthorities")
            .WithSummary("List the trusted certificate authorities");

        var one = authorities.MapGroup("/{authority_id:guid}").ProducesProblem(StatusCodes.Status404NotFound);

        one.MapGet("", GetAuthority)
            .WithName("GetCertificateAuthority")
            .WithSummary("Get one trusted certificate authority");

        one.MapDelete("", RemoveAuthority)
            .WithName("RemoveCertificateAuthority")
            .WithSummary("Stop trusting a certificate authority")
            .WithDescription("New handshakes with certificates it issued fail (unknown_ca) once the gateways refreshed their list; " +
                "pinned certificates are not affected. Revoke a device's credential to drop its live sessions at once.");

        return api;
    }

    public static async Task<Results<Created<CertificateAuthorityResponse>, ProblemHttpResult>> AddAuthority(
        JsonBody<CertificateAuthorityRequest> body, [AsParameters] ApiServices services)
    {
        using var certificate = KeyMaterialReader.ReadCertificate(body.Value.Certificate, out var error);
        if (certificate is null)
        {
            return Problems.Field("certificate", error!);
        }
        bool isAuthority;
        try
        {
            isAuthority = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true };
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return Problems.Field("certificate", "has a basic constraints extension that cannot be decoded");
        }
        if (!isAuthority)
        {
            return Problems.Field("certificate", $"is not a certificate authority (basic constraints CA=true), subject '{certificate.Subject}'");
        }
        // Gateways trust roots only (.NET's custom root trust anchors at self-signed certificates); devices send the
        // intermediates of their chain in the handshake.
        if (!certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
        {
            return Problems.Field("certificate", $"must be a root authority (self-issued); '{certificate.Subject}' is issued by '{certificate.Issuer}': " +
                "register its root, and have devices send the intermediate in their handshake");
        }
        var now = services.Time.GetUtcNow();
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        if (now > notAfter || now < notBefore)
        {
            return Problems.Field("certificate", $"is not valid now (valid {notBefore:O} to {notAfter:O})");
        }
        var added = await Registry(services).Add(CredentialIdentities.Fingerprint(certificate.RawData), certificate.Subject, notBefore, notAfter, certificate.RawData);
        if (added is null)
        {
            return Problems.Conflict($"The certificate authority '{certificate.Subject}' (sha256 {CredentialIdentities.Fingerprint(certificate.RawData)}) is registered already.");
        }
        ManagementApiLog.CertificateAuthorityAdded(services.Logger, added.Id, added.Subject, added.Fingerprint);
        return TypedResults.Created(Links.CertificateAuthority(added.Id), CertificateAuthorityResponse.From(added));
    }

    public static async Task<Ok<CertificateAuthorityListResponse>> ListAuthorities([AsParameters] ApiServices services) =>
        TypedResults.Ok(new CertificateAuthorityListResponse([.. (await Registry(services).List()).Select(CertificateAuthorityResponse.From)]));

    public static async Task<Results<Ok<CertificateAuthorityResponse>, ProblemHttpResult>> GetAuthority(
        [FromRoute(Name = "authority_id")] Guid authorityId, [AsParameters] ApiServices services) =>
        (await Registry(services).List()).FirstOrDefault(a => a.Id == authorityId) is { } authority
            ? TypedResults.Ok(CertificateAuthorityResponse.From(authority))
            : Problems.NotFound($"No certificate authority '{authorityId}'.");

    public static async Task<Results<NoContent, ProblemHttpResult>> RemoveAuthority(
        [FromRoute(Name = "authority_id")] Guid authorityId, [AsParameters] ApiServices services)
    {
        if (!await Registry(services).Remove(authorityId))
        {
            return Problems.NotFound($"No certificate authority '{authorityId}'.");
        }
        ManagementApiLog.CertificateAuthorityRemoved(services.Logger, authorityId);
        return TypedResults.NoContent();
    }

    private static ICertificateAuthoritiesGrain Registry(ApiServices services) => services.Grains.GetGrain<ICertificateAuthoritiesGrain>(0);
}
