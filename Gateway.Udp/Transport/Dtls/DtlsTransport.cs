using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using NHub.Gateway.Security;
using Org.BouncyCastle.Tls;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// CoAP over DTLS 1.2 with pre-shared keys (RFC 7252 §9.1.3.1, <c>coaps://</c>) on BouncyCastle, behind the same
/// contract as plain UDP. One socket serves every peer.
/// <list type="bullet">
/// <item>Unknown addresses get only a stateless cookie exchange (RFC 6347 §4.2.1); a peer exists only after a
/// ClientHello returned the cookie, then passes the per-source rate limit and the peer cap.</item>
/// <item>BouncyCastle's handshake blocks, so it runs on a fixed set of handshake threads fed by a bounded queue.</item>
/// <item>Established sessions hold no thread: the receive loop queues each record in the peer's channel and
/// "pumps" BouncyCastle's Receive, which decrypts it at once and never waits (see <see cref="PeerDatagramChannel"/>).</item>
/// </list>
/// </summary>
public sealed partial class DtlsTransport : IDatagramTransport, ISessionCloser
{
    /// <summary>BouncyCastle's Receive wait while pumping: it returns as soon as the queued record is decrypted.</summary>
    private const int PumpWaitMillis = 1;

    private readonly DtlsOptions _options;
    private readonly CredentialCache _credentials;
    private readonly ILogger _logger;
    private readonly DtlsMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly int[] _cipherSuites;
    private readonly PeerTable _peers;
    private readonly SourceRateLimiter _rateLimiter;
    private readonly CancellationTokenSource _stop = new();
    private readonly long _handshakeTimeout;
    private readonly long _idleTimeout;
    private readonly long _wakeAfterIdle;
    private readonly ConnectionIdIssuer _connectionIds;
    private readonly ReceiveQueue _deliveries;
    private readonly IDtlsSessionStore? _store;
    private readonly SourceRateLimiter _takeoverLimiter;
    private readonly DeviceCertificateAuthenticator? _certificates;
    private ServerCertificate? _serverCertificate;
    private ResumptionCache? _resumption;
    private GatewayTlsCrypto? _crypto;
    private CookieVerifier? _cookies;
    private HandshakeWorkers<HandshakeWork>? _handshakes;
    private Socket? _socket; // sends go out here (any socket of the group would do: same local port)
    private Socket[] _sockets = [];
    private IDatagramReceiver? _receiver;
    private ITimer? _sweeper;
    private Thread[] _receiveLoops = [];
    private long _nextSessionId;
    private int _stopped;

    private sealed record HandshakeWork(DtlsPeer Peer, DtlsRequest Request);

    /// <summary>Validates <paramref name="options"/>; <paramref name="nodeId"/> (<c>Gateway:NodeId</c>) is the first byte of every Connection ID issued.</summary>
    /// <remarks>
    /// With <paramref name="store"/>, sessions with a Connection ID are kept there and sessions held by other gateways
    /// are taken over (docs/stateless-gateway.md); without, every session lives and ends with this process. With
    /// <paramref name="certificates"/>, devices may also authenticate with certificates and raw public keys
    /// (ECDHE-ECDSA suites, docs/device-certificates.md); without, only PSK suites are offered.
    /// </remarks>
    public DtlsTransport(DtlsOptions options, CredentialCache credentials, ILogger<DtlsTransport> logger, IMeterFactory meterFactory, TimeProvider? timeProvider = null, int nodeId = 0,
        IDtlsSessionStore? store = null, DeviceCertificateAuthenticator? certificates = null, ServerCertificate? serverCertificate = null)
    {
        _serverCertificate = serverCertificate;
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        _options = options;
        _credentials = credentials;
        _logger = logger;
        _metrics = new DtlsMetrics(meterFactory);
        _time = timeProvider ?? TimeProvider.System;
        _cipherSuites = DtlsCipherSuites.Parse(options.EffectiveCipherSuites);
        _peers = new PeerTable(options.MaxPeers);
        _rateLimiter = new SourceRateLimiter(options.HandshakesPerSecondPerIp, options.HandshakeBurstPerIp, options.RateLimiterMaxAddresses, _time);
        _handshakeTimeout = (long)(options.HandshakeTimeout.TotalSeconds * _time.TimestampFrequency);
        _idleTimeout = (long)(options.SessionIdleTimeout.TotalSeconds * _time.TimestampFrequency);
        _wakeAfterIdle = (long)(options.WakeAfterIdle.TotalSeconds * _time.TimestampFrequency);
        _connectionIds = new ConnectionIdIssuer(options.ConnectionIdLength, nodeId);
        _deliveries = new ReceiveQueue(options.DeliveryQueueCapacity, options.Workers, System.Buffers.ArrayPool<byte>.Shared, OnHandlerFailed);
        _store = options.ConnectionIdLength > 0 ? store : null;
        _certificates = certificates;
        _takeoverLimiter = new SourceRateLimiter(options.TakeoversPerSecondPerIp, options.TakeoverBurstPerIp, options.RateLimiterMaxAddresses, _time);
        // Session ids stay unique across restarts in practice (upper layers may log or persist them).
        _nextSessionId = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16;
    }

    public TransportKind Kind => TransportKind.Dtls;

    public EndPoint LocalEndPoint => _socket?.LocalEndPoint ?? throw new InvalidOperationException("Not started");

    /// <summary>Established sessions.</summary>
    public int SessionCount => _peers.SessionCount;

    /// <summary>Established sessions that negotiated a Connection ID (RFC 9146).</summary>
    public int ConnectionIdSessionCount => _peers.ConnectionIdCount;

    /// <summary>The Connection ID length this transport issues (0: none).</summary>
    public int ConnectionIdLength => _connectionIds.Length;

    /// <summary>Peer state held: sessions plus handshakes in progress (zero for addresses that only got a cookie).</summary>
    public int PeerCount => _peers.Count;

    /// <summary>Handshakes waiting for a handshake thread.</summary>
    public int PendingHandshakes => _handshakes?.Pending ?? 0;

    /// <summary>SHA-256 of the certificate the ECDHE-ECDSA suites present, null when they are off (or before start).</summary>
    public string? ServerCertificateFingerprint => _serverCertificate?.Fingerprint;

    /// <summary>Cookie secret rotations since start.</summary>
    internal long CookieSecretRotations => _cookies?.Rotations ?? 0;

    public void Start(IDatagramReceiver receiver)
    {
        if (_socket is not null)
        {
            throw new InvalidOperationException("Already started");
        }
        _receiver = receiver;
        _crypto = new GatewayTlsCrypto();
        if (_certificates is not null)
        {
            var configured = _options.Certificate;
            _serverCertificate ??= ServerCertificate.From(configured, _time);
            _resumption = _options.ResumptionCacheSize > 0 ? new ResumptionCache(_options.ResumptionCacheSize, _options.ResumptionLifetime, _time) : null;
            DtlsLog.ServerCertificate(_logger, _serverCertificate.SelfSigned ? "a self-signed certificate made at start" : configured.Path!,
                _serverCertificate.Fingerprint, _serverCertificate.PublicKeyFingerprint);
        }
        _cookies = new CookieVerifier(_crypto, _time, _options.CookieSecretRotation);
        var loops = _options.ReceiveLoops > 0 ? _options.ReceiveLoops : Environment.ProcessorCount;
        // One socket per receive thread (SO_REUSEPORT): a peer's datagrams always reach the same thread, in order.
        // Threads sharing one socket would reorder a peer's handshake flight and stall it on retransmission timers.
        _sockets = DatagramSocket.BindGroup(_options.BindAddress, _options.Port, _options.SocketBufferBytes, loops);
        _socket = _sockets[0];
        _handshakes = new HandshakeWorkers<HandshakeWork>(_options.HandshakeThreads, _options.HandshakeQueueCapacity, RunHandshake);
        _deliveries.Start(receiver);
        _receiveLoops = new Thread[_sockets.Length];
        for (var i = 0; i < _sockets.Length; i++)
        {
            _receiveLoops[i] = new Thread(ReceiveLoop) { IsBackground = true, Name = $"dtls-receive-{i}" };
            _receiveLoops[i].Start(_sockets[i]);
        }
        _sweeper = _time.CreateTimer(_ => Sweep(), null, _options.SweepInterval, _options.SweepInterval);
        DtlsLog.Listening(_logger, _socket.LocalEndPoint!, string.Join(",", _options.EffectiveCipherSuites), _options.HandshakeThreads);
    }

    public bool IsOpen(PeerInfo peer) => _peers.TryGetSession(peer.SessionId, out var p) && p.State == PeerState.Established;

    public bool TrySend(PeerInfo peer, ReadOnlySpan<byte> datagram)
    {
        if (!_peers.TryGetSession(peer.SessionId, out var p))
        {
            _metrics.DatagramDropped("no_session");
            return false;
        }
        bool extend, sent;
        lock (p.Gate)
        {
            if (p.State != PeerState.Established)
            {
                _metrics.DatagramDropped("no_session");
                return false;
            }
            if (datagram.Length > p.SendLimit)
            {
                // One record per datagram: refuse what does not fit instead of fragmenting (CoAP over DTLS never does).
                _metrics.DatagramDropped("oversize");
                return false;
            }
            var record = t_record ??= new byte[_options.MaxDatagramSize + 512];
            var length = p.Records!.Seal(DtlsRecordHeader.ApplicationData, datagram, record, out extend);
            if (length > 0)
            {
                p.Channel.Send(record.AsSpan(0, length));
                p.LastActivity = _time.GetTimestamp();
            }
            else if (p.Records.Sequence.Limit > SequenceReservation.MaxSequence)
            {
                // RFC 6347 §4.1: the epoch's 48-bit sequence space is used up; only a new handshake goes on.
                p.Close(notify: false);
                _metrics.DatagramDropped("sequence_exhausted");
                FinishClose(p, SessionCloseReason.SequenceExhausted);
                return false;
            }
            else
            {
                // No durable sequence number left (the store is slow or down): never send past the reserved block.
                _metrics.DatagramDropped("sequence_not_reserved");
            }
            sent = length > 0;
        }
        if (extend)
        {
            Checkpoint(p);
        }
        return sent;
    }

    [ThreadStatic]
    private static byte[]? t_record;

    public async ValueTask StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        // Stop taking new work first: the receive path drops records from here on.
        await _stop.CancelAsync();
        _sweeper?.Dispose();
        var released = await ReleaseStoredAsync();
        var closed = CloseAll();
        if (_handshakes is { } handshakes)
        {
            // Closed channels make blocked handshakes throw at once; the join is a bound, not a wait.
            foreach (var work in await Task.Run(() => handshakes.Stop(TimeSpan.FromSeconds(5))))
            {
                ClosePeer(work.Peer, SessionCloseReason.Shutdown, notify: false);
            }
            handshakes.Dispose();
        }
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
        // Closing the socket ends the blocking receives; the join is a bound, not a wait.
        var loops = _receiveLoops;
        await Task.Run(() =>
        {
            foreach (var loop in loops)
            {
                loop.Join(TimeSpan.FromSeconds(5));
            }
        });
        await _deliveries.StopAsync();
        DtlsLog.Stopped(_logger, closed, released);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _connectionIds.Dispose();
    }

    private static readonly IPEndPoint IPv4Template = new(IPAddress.Any, 0);
    private static readonly IPEndPoint IPv6Template = new(IPAddress.IPv6Any, 0);

    private static IPEndPoint ToEndPoint(SocketAddress address)
    {
        var template = address.Family == AddressFamily.InterNetwork ? IPv4Template : IPv6Template;
        var endPoint = (IPEndPoint)template.Create(address);
        return endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
    }

    private static string CipherSuiteName(int suite) => suite switch
    {
        CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 => DtlsCipherSuites.Ccm8,
        CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256 => DtlsCipherSuites.Gcm,
        CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256 => DtlsCipherSuites.Cbc,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 => DtlsCipherSuites.EcdsaCcm8,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => DtlsCipherSuites.EcdsaGcm,
        _ => suite.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
