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

    [Alias("Unbind")]
    Task Unbind();

    /// <summary>The key for a handshake, or null when the identity is unknown.</summary>
    [Alias("Lookup")]
    Task<PskLookup?> Lookup();
}
