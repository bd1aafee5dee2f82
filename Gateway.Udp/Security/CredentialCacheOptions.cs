using System.ComponentModel.DataAnnotations;

namespace NHub.Gateway.Security;

/// <summary>Credential cache settings, for PSKs, certificates and raw public keys alike (section <c>Gateway:Credentials</c>).</summary>
public sealed class CredentialCacheOptions
{
    public const string Section = "Gateway:Credentials";

    /// <summary>
    /// How long a found credential is trusted. The device guide promises that a revoked device is rejected "on the
    /// next DTLS handshake after the credential cache expires (default: 5 minutes)"; pushed revocations
    /// (<see cref="CredentialCache.Invalidate"/>) act at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Gateway:Credentials:TimeToLive must be between 1 s and 1 day")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long "no such identity" is remembered. Short, so a device provisioned a moment ago connects soon, but
    /// long enough that a client hammering with an unknown identity costs one lookup per period.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Gateway:Credentials:NegativeTimeToLive must be between 0 and 1 h")]
    public TimeSpan NegativeTimeToLive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Cached identities at most; past it expired entries are swept, then arbitrary ones evicted.</summary>
    [Range(16, 10_000_000, ErrorMessage = "Gateway:Credentials:MaxEntries must be between 16 and 10000000")]
    public int MaxEntries { get; set; } = 200_000;

    /// <summary>A lookup slower than this fails (the handshake fails with internal_error; the device retries).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Gateway:Credentials:LookupTimeout must be between 100 ms and 1 min")]
    public TimeSpan LookupTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the registered certificate authorities are used before they are fetched again. An authority added
    /// through the API is trusted, and a removed one refused, by every gateway within this time (certificates of
    /// devices, unlike authorities, are revoked at once: their revocation is pushed).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Gateway:Credentials:TrustAnchorRefresh must be between 1 s and 1 h")]
    public TimeSpan TrustAnchorRefresh { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>PSK identities longer than this (UTF-8 bytes) are rejected without a lookup (RFC 4279 allows 2^16-1).</summary>
    [Range(1, 65535, ErrorMessage = "Gateway:Credentials:MaxIdentityLength must be between 1 and 65535")]
    public int MaxIdentityLength { get; set; } = 128;
}
