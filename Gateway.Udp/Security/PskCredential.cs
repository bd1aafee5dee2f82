namespace NHub.Gateway.Security;

/// <summary>Whether a credential may still open DTLS sessions.</summary>
public enum PskCredentialStatus
{
    Active,
    Revoked,
}

/// <summary>
/// A device's credential as a gateway sees it. For a DTLS pre-shared key (RFC 4279): the identity the device sends in
/// its ClientKeyExchange, the device it belongs to and the raw key bytes; <see cref="Key"/> is the secret: never log
/// it. For a certificate or raw public key (<see cref="AuthType"/> x509 or rpk) the identity is the key's
/// <see cref="NHub.Grains.CredentialIdentities"/> name and <see cref="Key"/> is empty; <see cref="Pinned"/> says the
/// certificate is trusted by its fingerprint rather than through an authority.
/// </summary>
public sealed record PskCredential(string Identity, string DeviceId, byte[] Key, PskCredentialStatus Status, string AuthType = CredentialAuthTypes.Psk, bool Pinned = false)
{
    public bool IsActive => Status == PskCredentialStatus.Active;

    public bool IsPsk => AuthType == CredentialAuthTypes.Psk;

    /// <summary>Keeps the key out of logs and exception messages.</summary>
    public override string ToString() => $"PskCredential {{ Identity = {Identity}, DeviceId = {DeviceId}, Status = {Status}, AuthType = {AuthType} }}";
}
