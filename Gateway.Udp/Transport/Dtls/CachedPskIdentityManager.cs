using System.Text;
using NHub.Gateway.Security;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Answers BouncyCastle's PSK lookup for one handshake from the <see cref="CredentialCache"/>. Runs on a handshake
/// thread, so it may block on a cache miss. An unknown, revoked or malformed identity gets no key: BouncyCastle then
/// answers unknown_psk_identity (RFC 4279 §2).
/// </summary>
internal sealed class CachedPskIdentityManager(CredentialCache cache, CancellationToken stopping) : TlsPskIdentityManager
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The identity the client offered (not yet authenticated).</summary>
    public string? OfferedIdentity { get; private set; }

    /// <summary>The device the offered identity belongs to, once its key was handed out.</summary>
    public string? DeviceId { get; private set; }

    /// <summary>Why the identity got no key: bad_identity, unknown_identity, revoked, lookup_failed.</summary>
    public string? RejectReason { get; private set; }

    /// <summary>No identity hint (RFC 4279 §5.2 lets the server omit it; CoAP devices have one key each).</summary>
    public byte[]? GetHint() => null;

    public byte[]? GetPsk(byte[] identity)
    {
        if (identity.Length == 0 || identity.Length > cache.Options.MaxIdentityLength)
        {
            RejectReason = "bad_identity";
            return null;
        }
        string name;
        try
        {
            name = StrictUtf8.GetString(identity);
        }
        catch (DecoderFallbackException)
        {
            RejectReason = "bad_identity";
            return null;
        }
        OfferedIdentity = name;
        PskCredential? credential;
        try
        {
            var pending = cache.GetAsync(name, stopping);
            credential = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            RejectReason = "lookup_failed";
            throw new TlsFatalAlert(AlertDescription.internal_error, ex);
        }
        if (credential is null || !credential.IsPsk)
        {
            // A certificate's or raw key's name offered as a PSK identity: there is no key to hand out.
            RejectReason = "unknown_identity";
            return null;
        }
        if (!credential.IsActive)
        {
            RejectReason = "revoked";
            return null;
        }
        DeviceId = credential.DeviceId;
        // BouncyCastle zeroes the array it gets once the master secret is derived: hand it a copy.
        return (byte[])credential.Key.Clone();
    }
}
