using NHub.Gateway.Security;
using NHub.Gateway.Transport.Dtls;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.Gateway.Transport.Tcp;

/// <summary>
/// Makes the BouncyCastle server of one coaps+tcp handshake: the DTLS transport's <see cref="DeviceDtlsServer"/> in
/// its TLS 1.2 form, so a device authenticates over TLS with the same suites, credentials and checks as over DTLS
/// (PSK, certificates from a registered authority or pinned, raw public keys; docs/device-certificates.md).
/// </summary>
public sealed class TlsServerFactory : IDisposable
{
    private readonly GatewayTlsCrypto _crypto = new();
    private readonly int[] _cipherSuites;
    private readonly int _handshakeTimeoutMillis;
    private readonly ServerCertificate? _certificate;
    private readonly DeviceCertificateAuthenticator? _certificates;
    private readonly ResumptionCache? _resumption;
    private readonly Lazy<HandshakeWorkers<HandshakeStep>> _workers;

    public TlsServerFactory(DtlsOptions options, CredentialCache credentials, ServerCertificate? certificate, DeviceCertificateAuthenticator? certificates,
        TimeProvider time)
    {
        Credentials = credentials;
        _cipherSuites = DtlsCipherSuites.Parse(options.EffectiveCipherSuites);
        _handshakeTimeoutMillis = (int)options.HandshakeTimeout.TotalMilliseconds;
        _certificate = certificate;
        _certificates = certificates;
        _workers = new Lazy<HandshakeWorkers<HandshakeStep>>(() => new HandshakeWorkers<HandshakeStep>(options.HandshakeThreads, options.HandshakeQueueCapacity,
            static step => step.Run()));
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

    /// <summary>
    /// Runs one handshake step (records offered to BouncyCastle) on the dedicated handshake threads
    /// (<c>Gateway:Dtls:HandshakeThreads</c>, <c>…HandshakeQueueCapacity</c>, as for DTLS), not on the pool thread
    /// reading the connection: the PSK or certificate look-up inside it may block on the silo, and a handshake storm must
    /// not starve the thread pool that serves every established connection. Null when the queue is full.
    /// </summary>
    internal Task<bool>? TryRunHandshakeStep(Func<bool> step)
    {
        var work = new HandshakeStep(step);
        return _workers.Value.TryEnqueue(work) ? work.Done.Task : null;
    }

    public void Dispose()
    {
        if (_workers.IsValueCreated)
        {
            _workers.Value.Stop(TimeSpan.FromSeconds(1));
        }
    }

    private sealed class HandshakeStep(Func<bool> step)
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run()
        {
            try
            {
                Done.SetResult(step());
            }
            catch (Exception ex)
            {
                Done.SetException(ex);
            }
        }
    }
}
