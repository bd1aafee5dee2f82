namespace NHub.Grains;

/// <summary>
/// Index from a PSK identity (e.g. <c>koru-869181072798893</c>) to the device that owns it, so a gateway can find
/// the key for a DTLS handshake without knowing the device id. Keyed by identity; persisted.
/// </summary>
[Alias("nhub.IPskIdentityGrain")]
public interface IPskIdentityGrain : IGrainWithStringKey
{
    /// <summary>Binds the identity to a device's credential. Fails if it is bound to another device.</summary>
    [Alias("Bind")]
    Task<bool> Bind(string deviceId, Guid credentialId);

    /// <summary>
    /// For a certificate's or raw key's name (<see cref="CredentialIdentities"/>): binds it unless it was ever revoked
    /// (a key, unlike a PSK identity, is the secret itself: once revoked it stays refused, on every device, also after
    /// its device was deleted and made again) or another device holds it.
    /// </summary>
    [Alias("BindKey")]
    Task<KeyBindOutcome> BindKey(string deviceId, Guid credentialId);

    /// <summary>Marks a certificate's or raw key's name revoked for good (see <see cref="BindKey"/>).</summary>
    [Alias("MarkRevoked")]
    Task MarkRevoked();

    [Alias("Unbind")]
    Task Unbind();

    /// <summary>The key for a handshake, or null when the identity is unknown.</summary>
    [Alias("Lookup")]
    Task<PskLookup?> Lookup();
}

public enum KeyBindOutcome
{
    Bound = 0,
    BoundToAnotherDevice = 1,
    Revoked = 2,
}
