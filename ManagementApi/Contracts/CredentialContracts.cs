namespace NHub.ManagementApi.Contracts;

/// <summary>Body of <c>POST /devices/{device_id}/credentials</c>.</summary>
/// <param name="AuthType">Must be <c>psk</c>, the only method the platform issues.</param>
/// <param name="PskFormat">
/// <c>ascii</c> (default): the DTLS key is the ASCII bytes of <c>psk_key</c>, what <c>coap-client -k</c> sends.
/// <c>binary</c>: the key is the 32 bytes the hex string encodes.
/// </param>
public sealed record IssueCredentialRequest(string? AuthType, string? PskFormat = null);

/// <summary>
/// The one response that carries the key, with exactly the fields of the CoAP client guide. Shown once: it is not
/// stored in readable form and no other endpoint returns it.
/// </summary>
public sealed record IssuedCredentialResponse(Guid Id, string AuthType, string PskIdentity, string PskKey, string Server, CredentialStatus Status)
{
    internal static IssuedCredentialResponse From(IssuedCredential issued, string server) =>
        new(issued.Summary.Id, issued.Summary.AuthType, issued.Summary.PskIdentity, issued.PskKey, server, issued.Summary.Status);
}

/// <summary>A credential as listed: everything but the key.</summary>
public sealed record CredentialResponse(
    Guid Id,
    string AuthType,
    string PskIdentity,
    PskFormat PskFormat,
    CredentialStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt)
{
    internal static CredentialResponse From(CredentialSummary c) => new(c.Id, c.AuthType, c.PskIdentity, c.PskFormat, c.Status, c.CreatedAt, c.RevokedAt);
}

public sealed record CredentialListResponse(IReadOnlyList<CredentialResponse> Items);
