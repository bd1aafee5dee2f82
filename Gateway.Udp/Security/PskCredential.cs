namespace NHub.Gateway.Security;

/// <summary>Whether a credential may still open DTLS sessions.</summary>
public enum PskCredentialStatus
{
    Active,
    Revoked,
}

/// <summary>
/// A device's DTLS pre-shared key (RFC 4279): the identity the device sends in its ClientKeyExchange, the device
/// it belongs to and the raw key bytes. <see cref="Key"/> is the secret: never log it.
/// </summary>
public sealed record PskCredential(string Identity, string DeviceId, byte[] Key, PskCredentialStatus Status)
{
    public bool IsActive => Status == PskCredentialStatus.Active;

    /// <summary>Keeps the key out of logs and exception messages.</summary>
    public override string ToString() => $"PskCredential {{ Identity = {Identity}, DeviceId = {DeviceId}, Status = {Status} }}";
}
