namespace NHub.Grains;

public enum CredentialStatus
{
    Active = 0,
    Revoked = 1,
}

/// <summary>
/// How the device turns the issued 64-hex-character <c>psk_key</c> into DTLS key bytes.
/// <see cref="Ascii"/> (default): the PSK is the ASCII bytes of the string, exactly what the guide's
/// <c>coap-client -k</c> example sends. <see cref="Binary"/>: the PSK is the 32 decoded bytes.
/// </summary>
public enum PskFormat
{
    Ascii = 0,
    Binary = 1,
}

/// <summary>A credential as listed: never the key.</summary>
[GenerateSerializer, Immutable, Alias("nhub.CredentialSummary")]
public sealed record CredentialSummary(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string AuthType,
    [property: Id(2)] string PskIdentity,
    [property: Id(3)] PskFormat PskFormat,
    [property: Id(4)] CredentialStatus Status,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset? RevokedAt);

/// <summary>The one response that carries the key (the guide: "The PSK key is shown only once").</summary>
[GenerateSerializer, Immutable, Alias("nhub.IssuedCredential")]
public sealed record IssuedCredential(
    [property: Id(0)] CredentialSummary Summary,
    [property: Id(1)] string PskKey);

/// <summary>What a DTLS gateway needs to complete a handshake for an identity.</summary>
[GenerateSerializer, Immutable, Alias("nhub.PskLookup")]
public sealed record PskLookup(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] Guid CredentialId,
    [property: Id(2)] byte[] Key,
    [property: Id(3)] CredentialStatus Status);

/// <summary>Pushed to every gateway when a credential stops being valid.</summary>
[GenerateSerializer, Immutable, Alias("nhub.CredentialRevoked")]
public sealed record CredentialRevoked(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string PskIdentity,
    [property: Id(2)] DateTimeOffset RevokedAt);

public enum IssueOutcome
{
    Issued = 0,
    UnknownDevice = 1,
    ActiveCredentialExists = 2,
}

[GenerateSerializer, Immutable, Alias("nhub.IssueCredentialResult")]
public sealed record IssueCredentialResult(
    [property: Id(0)] IssueOutcome Outcome,
    [property: Id(1)] IssuedCredential? Credential);
