namespace NHub.Gateway.Security;

/// <summary>
/// Where PSK credentials live (the device registry). Asked through <see cref="CredentialCache"/>, never directly
/// from the DTLS handshake, so a flood of handshakes does not become a flood of lookups.
/// </summary>
public interface IPskCredentialSource
{
    /// <summary>The credential for <paramref name="identity"/>, or null when no such identity exists.</summary>
    ValueTask<PskCredential?> FindAsync(string identity, CancellationToken ct);
}
