namespace NHub.ManagementApi.Contracts;

/// <summary>Body of <c>POST /certificate-authorities</c>: the authority's certificate, PEM or base64 DER.</summary>
public sealed record CertificateAuthorityRequest(string? Certificate);

/// <summary>A trusted authority; <c>certificate</c> is its PEM.</summary>
public sealed record CertificateAuthorityResponse(Guid Id, string Subject, string Fingerprint, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
    DateTimeOffset CreatedAt, string Certificate)
{
    internal static CertificateAuthorityResponse From(CertificateAuthorityInfo a) =>
        new(a.Id, a.Subject, a.Fingerprint, a.NotBefore, a.NotAfter, a.CreatedAt, new string(System.Security.Cryptography.PemEncoding.Write("CERTIFICATE", a.Certificate)));
}

public sealed record CertificateAuthorityListResponse(IReadOnlyList<CertificateAuthorityResponse> Items);
