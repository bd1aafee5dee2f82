using System.Text.Json.Serialization;

namespace NHub.ManagementApi.Contracts;

/// <summary>Body of <c>POST /devices/{device_id}/credentials</c>.</summary>
/// <param name="AuthType"><c>psk</c> (the platform issues a key), <c>x509</c> (the device's certificate, pinned) or <c>rpk</c> (its raw public key, RFC 7250).</param>
/// <param name="PskFormat">
/// psk only. <c>ascii</c> (default): the DTLS key is the ASCII bytes of <c>psk_key</c>, what <c>coap-client -k</c> sends.
/// <c>binary</c>: the key is the 32 bytes the hex string encodes.
/// </param>
/// <param name="Certificate">x509 only: the device's certificate, PEM or base64 DER; its subject CN must be the device id.</param>
/// <param name="PublicKey">rpk only: the device's SubjectPublicKeyInfo, PEM (<c>PUBLIC KEY</c>) or base64 DER.</param>
public sealed record IssueCredentialRequest(string? AuthType, string? PskFormat = null, string? Certificate = null, string? PublicKey = null);

/// <summary>
/// The response to registering a certificate or raw public key: nothing secret in it (the private key never leaves
/// the device). <c>psk_identity</c> is the name gateways know it by (<c>x509:</c>/<c>rpk:</c> + fingerprint).
/// </summary>
public sealed record KeyCredentialResponse(Guid Id, string AuthType, string PskIdentity, string Fingerprint, string? Subject, DateTimeOffset? NotAfter,
    CredentialSource Source, string Server, CredentialStatus Status)
{
    internal static KeyCredentialResponse From(CredentialSummary c, string server) =>
        new(c.Id, c.AuthType, c.PskIdentity, c.Fingerprint ?? "", c.Subject, c.NotAfter, c.Source ?? CredentialSource.Pinned, server, c.Status);
}

/// <summary>
/// The one response that carries the key, with exactly the fields of the CoAP client guide. Shown once: it is not
/// stored in readable form and no other endpoint returns it.
/// </summary>
public sealed record IssuedCredentialResponse(Guid Id, string AuthType, string PskIdentity, string PskKey, string Server, CredentialStatus Status)
{
    internal static IssuedCredentialResponse From(IssuedCredential issued, string server) =>
        new(issued.Summary.Id, issued.Summary.AuthType, issued.Summary.PskIdentity, issued.PskKey, server, issued.Summary.Status);
}

/// <summary>
/// A credential as listed: everything but the key. <c>psk_format</c> for psk credentials; <c>fingerprint</c>,
/// <c>subject</c>, <c>not_after</c> and <c>source</c> for x509 and rpk ones (absent otherwise).
/// </summary>
public sealed record CredentialResponse(
    Guid Id,
    string AuthType,
    string PskIdentity,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PskFormat? PskFormat,
    CredentialStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Fingerprint = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Subject = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? NotAfter = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CredentialSource? Source = null)
{
    internal static CredentialResponse From(CredentialSummary c) => c.AuthType == CredentialAuthTypes.Psk
        ? new(c.Id, c.AuthType, c.PskIdentity, c.PskFormat, c.Status, c.CreatedAt, c.RevokedAt)
        : new(c.Id, c.AuthType, c.PskIdentity, null, c.Status, c.CreatedAt, c.RevokedAt, c.Fingerprint, c.Subject, c.NotAfter, c.Source);
}

public sealed record CredentialListResponse(IReadOnlyList<CredentialResponse> Items);
