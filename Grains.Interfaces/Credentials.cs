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

/// <summary>
/// A credential as listed: never the key. <see cref="PskIdentity"/> is the name gateways know the credential by: the
/// PSK identity, or for a certificate or raw public key the <see cref="CredentialIdentities"/> name of its key.
/// <see cref="Fingerprint"/>, <see cref="Subject"/>, <see cref="NotAfter"/> and <see cref="Source"/> are set for
/// x509 and rpk credentials only.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.CredentialSummary")]
public sealed record CredentialSummary(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string AuthType,
    [property: Id(2)] string PskIdentity,
    [property: Id(3)] PskFormat PskFormat,
    [property: Id(4)] CredentialStatus Status,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset? RevokedAt,
    [property: Id(7)] string? Fingerprint = null,
    [property: Id(8)] string? Subject = null,
    [property: Id(9)] DateTimeOffset? NotAfter = null,
    [property: Id(10)] CredentialSource? Source = null);

/// <summary>How a certificate credential came to be.</summary>
public enum CredentialSource
{
    /// <summary>Registered through the API with the certificate or public key itself: trusted by its fingerprint.</summary>
    Pinned = 0,

    /// <summary>Recorded by a gateway when the device first authenticated with a certificate of a registered authority.</summary>
    CertificateAuthority = 1,
}

/// <summary>The <c>auth_type</c> values of a credential.</summary>
public static class CredentialAuthTypes
{
    /// <summary>DTLS pre-shared key (RFC 4279), issued by the platform.</summary>
    public const string Psk = "psk";

    /// <summary>An X.509 client certificate (ECDHE-ECDSA suites), pinned or issued by a registered authority.</summary>
    public const string X509 = "x509";

    /// <summary>A raw public key (RFC 7250).</summary>
    public const string Rpk = "rpk";
}

/// <summary>
/// What the platform learnt about a device's certificate or raw public key: registered through the API (pinned) or
/// presented in a handshake and chained to a registered authority (enrolled). Never a private key.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.KeyCredentialFacts")]
public sealed record KeyCredentialFacts(
    [property: Id(0)] string AuthType,
    [property: Id(1)] string Identity,
    [property: Id(2)] string Fingerprint,
    [property: Id(3)] string? Subject,
    [property: Id(4)] DateTimeOffset? NotAfter);

public enum EnrollOutcome
{
    /// <summary>Recorded now, or already recorded and active.</summary>
    Enrolled = 0,
    UnknownDevice = 1,
    /// <summary>This very certificate was revoked on the device: it stays refused.</summary>
    Revoked = 2,
    /// <summary>The certificate is registered to another device.</summary>
    BoundToAnotherDevice = 3,
}

/// <summary>The one response that carries the key (the guide: "The PSK key is shown only once").</summary>
[GenerateSerializer, Immutable, Alias("nhub.IssuedCredential")]
public sealed record IssuedCredential(
    [property: Id(0)] CredentialSummary Summary,
    [property: Id(1)] string PskKey);

/// <summary>
/// What a DTLS gateway needs to complete a handshake for an identity. <see cref="Key"/> is the PSK, empty for x509 and
/// rpk credentials (their key is the device's, proved by its signature); <see cref="Pinned"/>: trusted by fingerprint,
/// with no authority to chain to.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.PskLookup")]
public sealed record PskLookup(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] Guid CredentialId,
    [property: Id(2)] byte[] Key,
    [property: Id(3)] CredentialStatus Status,
    [property: Id(4)] string AuthType = CredentialAuthTypes.Psk,
    [property: Id(5)] bool Pinned = false);

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
    /// <summary>The same certificate or public key is already registered on this device.</summary>
    DuplicateCredential = 3,
    /// <summary>The certificate or public key is registered to another device.</summary>
    BoundToAnotherDevice = 4,
    /// <summary>The certificate or public key was revoked (here, or on a device since deleted): it stays refused.</summary>
    RevokedCredential = 5,
}

[GenerateSerializer, Immutable, Alias("nhub.IssueCredentialResult")]
public sealed record IssueCredentialResult(
    [property: Id(0)] IssueOutcome Outcome,
    [property: Id(1)] IssuedCredential? Credential);
