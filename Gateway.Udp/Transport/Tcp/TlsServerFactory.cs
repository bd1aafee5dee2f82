using NHub.Gateway.Security;
using NHub.Gateway.Transport.Dtls;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.Gateway.Transport.Tcp;

/// <summary>
/// Makes the BouncyCastle server of one coaps+tcp handshake: the DTLS transport's <see cref="DeviceDtlsServer"/> in
/// its TLS 1.2 form, so a device authenticates over TLS with the same suites, credentials and checks as over DTLS
/// (PSK, certificates from a registered authority or pinned, raw public keys; docs/device-certificates.md).
/// </summary>
public sealed class TlsServerFactory
{
    private readonly GatewayTlsCrypto _crypto = new();
    private readonly int[] _cipherSuites;
    private readonly int _handshakeTimeoutMillis;
    private readonly ServerCertificate? _certificate;
    private readonly DeviceCertificateAuthenticator? _certificates;
    private readonly ResumptionCache? _resumption;

    public TlsServerFactory(DtlsOptions options, CredentialCache credentials, ServerCertificate? certificate, DeviceCertificateAuthenticator? certificates,
        TimeProvider time)
    {
        Credentials = credentials;
        _cipherSuites = DtlsCipherSuites.Parse(options.EffectiveCipherSuites);
        _handshakeTimeoutMillis = (int)options.HandshakeTimeout.TotalMilliseconds;
        _certificate = certificate;
        _certificates = certificates;
        Handshakes = new SourceRateLimiter(options.HandshakesPerSecondPerIp, options.HandshakeBurstPerIp, options.RateLimiterMaxAddresses, time);
        _resumption = certificate is not null && options.ResumptionCacheSize > 0
            ? new ResumptionCache(options.ResumptionCacheSize, options.ResumptionLifetime, time)
            : null;
    }

    public CredentialCache Credentials { get; }

    /// <summary>
    /// Handshakes per source address (<c>Gateway:Dtls:HandshakesPerSecondPerIp</c> / <c>…BurstPerIp</c>, as for DTLS):
    /// a connection beyond it is closed before any cryptography, so one address cannot spend the gateway's CPU on
    /// handshakes, nor try keys at the rate it can open connections. Also bounds WebSocket credential checks.
    /// </summary>
    internal SourceRateLimiter Handshakes { get; }

    internal (DeviceDtlsServer Server, CachedPskIdentityManager Identities) Create(CancellationToken stopping)
    {
        var identities = new CachedPskIdentityManager(Credentials, stopping);
        var server = new DeviceDtlsServer(_crypto, identities, _cipherSuites, _handshakeTimeoutMillis, connectionIds: null, _certificate, _certificates, _resumption,
            stopping, stream: true);
        return (server, identities);
    }
}
