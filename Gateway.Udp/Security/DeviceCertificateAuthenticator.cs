using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NHub.Gateway.Security;

/// <summary>Why a device's certificate or raw public key did not authenticate it (the handshake's failure reason).</summary>
public enum CertificateRejection
{
    None = 0,
    /// <summary>An empty Certificate message: certificate suites need the device's certificate (RFC 5246 §7.4.6).</summary>
    NoCertificate,
    /// <summary>Not a certificate this server can parse.</summary>
    Malformed,
    Expired,
    NotYetValid,
    /// <summary>Not pinned, and no chain to a registered authority.</summary>
    UnknownAuthority,
    /// <summary>A chain to a registered authority that does not verify (bad signature, a CA flag missing, a wrong usage).</summary>
    BadChain,
    /// <summary>The subject names no valid device id (subject CN).</summary>
    NoDeviceId,
    UnknownDevice,
    /// <summary>A raw public key no device registered.</summary>
    UnknownKey,
    Revoked,
    /// <summary>The platform could not be asked (the device retries).</summary>
    LookupFailed,
}

/// <summary>
/// The outcome: the authenticated identity and its device, or why not. <see cref="Enrollment"/>: the certificate
/// passed every check but the twin has not recorded it yet; <see cref="DeviceCertificateAuthenticator.Enroll"/> must
/// succeed (after the handshake proved the device holds the key) before the session is accepted.
/// </summary>
public readonly record struct CertificateAuthentication(string? Identity, string? DeviceId, CertificateRejection Rejection, string? Detail,
    KeyCredentialFacts? Enrollment = null)
{
    public bool Succeeded => Rejection == CertificateRejection.None;

    /// <summary>The reason as the handshake metrics and logs name it.</summary>
    public string Reason => Rejection switch
    {
        CertificateRejection.NoCertificate => "no_certificate",
        CertificateRejection.Malformed => "bad_certificate",
        CertificateRejection.Expired => "certificate_expired",
        CertificateRejection.NotYetValid => "certificate_not_yet_valid",
        CertificateRejection.UnknownAuthority => "unknown_ca",
        CertificateRejection.BadChain => "bad_chain",
        CertificateRejection.NoDeviceId => "no_device_id",
        CertificateRejection.UnknownDevice => "unknown_device",
        CertificateRejection.UnknownKey => "unknown_key",
        CertificateRejection.Revoked => "revoked",
        CertificateRejection.LookupFailed => "lookup_failed",
        _ => "ok",
    };

    internal static CertificateAuthentication Ok(string identity, string deviceId) => new(identity, deviceId, CertificateRejection.None, null);

    internal static CertificateAuthentication Fail(CertificateRejection rejection, string detail, string? identity = null) => new(identity, null, rejection, detail);
}

/// <summary>
/// Authenticates a device by the certificate or raw public key it presented in a DTLS handshake (docs/device-certificates.md).
/// The signature over the handshake (CertificateVerify) proves the device holds the private key; this decides whose key it is:
/// <list type="number">
/// <item>A raw public key (RFC 7250) is a device's when an active rpk credential names it.</item>
/// <item>A certificate must be within its validity period. Pinned (an x509 credential registered with the certificate
/// itself): accepted by its fingerprint alone. Otherwise it must chain to a registered authority, and its subject CN
/// names the device, which must exist; the first such handshake records the certificate on the device (enrolled), so
/// that it is listed and can be revoked like a PSK. The enrollment waits for the end of the handshake
/// (<see cref="Enroll"/>): certificates travel in clear in DTLS 1.2, so before the client's CertificateVerify anyone
/// could present a captured one.</item>
/// <item>A revoked credential is refused at once on every gateway: the revocation push drops it from the cache.</item>
/// </list>
/// Blocking (it runs on a handshake thread, as the PSK lookup does). Thread-safe.
/// </summary>
public sealed class DeviceCertificateAuthenticator(CredentialCache credentials, TrustAnchorCache authorities, IDeviceCertificateDirectory directory, TimeProvider time)
{
    /// <summary>The OID of the TLS client-authentication usage (RFC 5280 §4.2.1.12), required when a certificate restricts its usages.</summary>
    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";

    public CertificateAuthentication AuthenticatePublicKey(byte[] subjectPublicKeyInfo, CancellationToken ct)
    {
        var identity = CredentialIdentities.ForPublicKey(subjectPublicKeyInfo);
        if (!TryLookup(identity, ct, out var credential, out var failure))
        {
            return failure;
        }
        return credential switch
        {
            null or { AuthType: not CredentialAuthTypes.Rpk } => CertificateAuthentication.Fail(CertificateRejection.UnknownKey, "no device registered this public key", identity),
            { IsActive: false } => CertificateAuthentication.Fail(CertificateRejection.Revoked, "the public key's credential is revoked", identity),
            _ => CertificateAuthentication.Ok(identity, credential.DeviceId),
        };
    }

    /// <summary><paramref name="chain"/>: the DER certificates as sent, the device's first (RFC 5246 §7.4.2).</summary>
    public CertificateAuthentication AuthenticateCertificate(IReadOnlyList<byte[]> chain, CancellationToken ct)
    {
        if (chain.Count == 0)
        {
            return CertificateAuthentication.Fail(CertificateRejection.NoCertificate, "the client sent no certificate");
        }
        var identity = CredentialIdentities.ForCertificate(chain[0]);
        X509Certificate2 leaf;
        try
        {
            leaf = X509CertificateLoader.LoadCertificate(chain[0]);
        }
        catch (CryptographicException ex)
        {
            return CertificateAuthentication.Fail(CertificateRejection.Malformed, ex.Message, identity);
        }
        using (leaf)
        {
            var now = time.GetUtcNow();
            if (now < leaf.NotBefore.ToUniversalTime())
            {
                return CertificateAuthentication.Fail(CertificateRejection.NotYetValid, $"valid from {leaf.NotBefore.ToUniversalTime():O}", identity);
            }
            if (now > leaf.NotAfter.ToUniversalTime())
            {
                return CertificateAuthentication.Fail(CertificateRejection.Expired, $"expired at {leaf.NotAfter.ToUniversalTime():O}", identity);
            }
            if (!TryLookup(identity, ct, out var credential, out var failure))
            {
                return failure;
            }
            if (credential is { AuthType: not CredentialAuthTypes.X509 })
            {
                return CertificateAuthentication.Fail(CertificateRejection.UnknownAuthority, "the fingerprint names a credential of another kind", identity);
            }
            if (credential is { IsActive: false })
            {
                return CertificateAuthentication.Fail(CertificateRejection.Revoked, "the certificate's credential is revoked", identity);
            }
            if (credential is { Pinned: true })
            {
                return CertificateAuthentication.Ok(identity, credential.DeviceId);
            }
            // Not pinned: the authority vouches for it, again at every handshake (an authority removed since the
            // enrollment no longer does).
            var chained = VerifyChain(leaf, chain, now, ct);
            if (!chained.Succeeded)
            {
                return chained with { Identity = identity };
            }
            string? deviceId;
            try
            {
                deviceId = CredentialIdentities.DeviceIdOf(leaf);
            }
            catch (CryptographicException)
            {
                deviceId = null;
            }
            if (deviceId is null)
            {
                return CertificateAuthentication.Fail(CertificateRejection.NoDeviceId, $"the subject '{leaf.Subject}' has no CN that is a device id", identity);
            }
            if (credential is not null)
            {
                return string.Equals(credential.DeviceId, deviceId, StringComparison.Ordinal)
                    ? CertificateAuthentication.Ok(identity, deviceId)
                    : CertificateAuthentication.Fail(CertificateRejection.UnknownDevice, $"the certificate is recorded on device '{credential.DeviceId}', its CN names '{deviceId}'", identity);
            }
            var facts = new KeyCredentialFacts(CredentialAuthTypes.X509, identity, identity[CredentialIdentities.X509Prefix.Length..], leaf.Subject,
                new DateTimeOffset(leaf.NotAfter.ToUniversalTime()));
            return new CertificateAuthentication(identity, deviceId, CertificateRejection.None, null, facts);
        }
    }

    private CertificateAuthentication VerifyChain(X509Certificate2 leaf, IReadOnlyList<byte[]> chain, DateTimeOffset now, CancellationToken ct)
    {
        X509Certificate2Collection anchors;
        try
        {
            anchors = authorities.Get(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return CertificateAuthentication.Fail(CertificateRejection.LookupFailed, "the trusted authorities could not be fetched: " + ex.Message);
        }
        if (anchors.Count == 0)
        {
            return CertificateAuthentication.Fail(CertificateRejection.UnknownAuthority, "the certificate is not pinned and no certificate authority is registered");
        }
        using var builder = new X509Chain();
        var policy = builder.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(anchors);
        policy.RevocationMode = X509RevocationMode.NoCheck; // revocation is the platform's: credentials, pushed
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = now.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        policy.ApplicationPolicy.Add(new Oid(ClientAuthenticationOid));
        var intermediates = new List<X509Certificate2>();
        try
        {
            for (var i = 1; i < chain.Count; i++)
            {
                try
                {
                    var intermediate = X509CertificateLoader.LoadCertificate(chain[i]);
                    intermediates.Add(intermediate);
                    policy.ExtraStore.Add(intermediate);
                }
                catch (CryptographicException ex)
                {
                    return CertificateAuthentication.Fail(CertificateRejection.Malformed, $"certificate {i} of the chain: {ex.Message}");
                }
            }
            if (builder.Build(leaf))
            {
                return CertificateAuthentication.Ok("", "");
            }
            var flags = X509ChainStatusFlags.NoError;
            foreach (var status in builder.ChainStatus)
            {
                flags |= status.Status;
            }
            var detail = string.Join("; ", builder.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
            {
                return CertificateAuthentication.Fail(CertificateRejection.UnknownAuthority, "no chain to a registered authority: " + detail);
            }
            if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
            {
                return CertificateAuthentication.Fail(CertificateRejection.Expired, "a certificate of the chain is outside its validity: " + detail);
            }
            return CertificateAuthentication.Fail(CertificateRejection.BadChain, detail.Length > 0 ? detail : flags.ToString());
        }
        finally
        {
            foreach (var intermediate in intermediates)
            {
                intermediate.Dispose();
            }
        }
    }

    /// <summary>
    /// Records on the device a certificate <see cref="AuthenticateCertificate"/> accepted with an
    /// <see cref="CertificateAuthentication.Enrollment"/>. Call it once the handshake proved the client holds the key.
    /// </summary>
    public CertificateAuthentication Enroll(CertificateAuthentication accepted, CancellationToken ct)
    {
        if (accepted is not { Enrollment: { } facts, DeviceId: { } deviceId, Identity: { } identity })
        {
            return accepted;
        }
        EnrollOutcome outcome;
        try
        {
            var pending = directory.EnrollAsync(deviceId, facts, ct);
            outcome = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().WaitAsync(credentials.Options.LookupTimeout, ct).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return CertificateAuthentication.Fail(CertificateRejection.LookupFailed, "enrolling the certificate failed: " + ex.Message, identity);
        }
        // The lookup before found nothing and may have remembered that: the device's requests resolve its identity next.
        credentials.Invalidate(identity);
        return outcome switch
        {
            EnrollOutcome.Enrolled => CertificateAuthentication.Ok(identity, deviceId),
            EnrollOutcome.UnknownDevice => CertificateAuthentication.Fail(CertificateRejection.UnknownDevice, $"no device '{deviceId}' (the certificate's CN)", identity),
            EnrollOutcome.Revoked => CertificateAuthentication.Fail(CertificateRejection.Revoked, "the certificate was revoked", identity),
            _ => CertificateAuthentication.Fail(CertificateRejection.UnknownDevice, "the certificate is registered to another device", identity),
        };
    }

    private bool TryLookup(string identity, CancellationToken ct, out PskCredential? credential, out CertificateAuthentication failure)
    {
        try
        {
            var pending = credentials.GetAsync(identity, ct);
            credential = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
            failure = default;
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            credential = null;
            failure = CertificateAuthentication.Fail(CertificateRejection.LookupFailed, "the credential lookup failed: " + ex.Message, identity);
            return false;
        }
    }
}
