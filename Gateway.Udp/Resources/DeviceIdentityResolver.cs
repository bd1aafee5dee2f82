using NHub.Gateway.Security;

namespace NHub.Gateway.Resources;

/// <summary>The device a request comes from: for DTLS the device owning the authenticated PSK identity.</summary>
public sealed class DeviceIdentityResolver(CredentialCache credentials)
{
    /// <summary>
    /// Plain CoAP: (authenticated: false, null). DTLS: the device id of the session's identity; null device when the
    /// credential is gone or revoked since the handshake (the caller answers 4.01).
    /// </summary>
    public async ValueTask<(bool Authenticated, string? DeviceId)> ResolveAsync(PeerInfo peer, CancellationToken ct)
    {
        if (peer.Identity is null)
        {
            return (false, null);
        }
        var credential = await credentials.GetAsync(peer.Identity, ct);
        return (true, credential is { IsActive: true } ? credential.DeviceId : null);
    }
}
