using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using NHub.Gateway.Transport.Dtls;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.Gateway.Transport.Tcp;

/// <summary>
/// CoAP over TCP (<c>coap+tcp</c>) or over TLS 1.2 (<c>coaps+tcp</c>), RFC 8323 §3, behind the same contract as the
/// datagram transports: each connection is one peer (one session), its messages reach the CoAP stack as RFC 7252
/// datagrams through <see cref="CoapConnection"/>, and the stack's sends go back as frames. The stack runs with
/// de-duplication off (<c>reliableTransport</c>), and a connection's end is its session's end: its Observe
/// relations end with it (RFC 8323 §7.3: a client re-registers after reconnecting).
/// <para>
/// TLS is BouncyCastle's, as for DTLS, not .NET's SslStream: SslStream cannot do PSK, and one implementation means
/// one set of suites and one authentication path (<see cref="TlsServerFactory"/>). It runs in non-blocking mode, so
/// an established connection holds no thread; handshake steps run on the dedicated handshake threads, where the
/// credential look-up may block without starving the thread pool.
/// TLS 1.3 is not offered (BouncyCastle's TLS 1.3 server has no PSK-only mode matching the DTLS suites).
/// </para>
/// </summary>
public sealed partial class StreamTransport : IDatagramTransport, ISessionCloser
{
    private readonly TcpTransportOptions _options;
    private readonly IPEndPoint _bind;
    private readonly TlsServerFactory? _tls;
    private readonly ILogger _logger;
    private readonly ReliableConnectionTable<StreamConnection> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Counter<long> _opened;
    private readonly Counter<long> _closedCounter;
    private readonly Counter<long> _handshakes;
    private readonly long _idleTicks;
    private readonly long _handshakeTicks;
    private Socket? _listener;
    private IDatagramReceiver? _receiver;
    private ITimer? _sweeper;
    private Task? _accepting;
    private long _nextSessionId;
    private int _count;

    public StreamTransport(TransportKind kind, IPEndPoint bind, TcpTransportOptions options, TlsServerFactory? tls, ILogger<StreamTransport> logger,
        IMeterFactory meters, TimeProvider? time = null)
    {
        if (kind is not (TransportKind.Tcp or TransportKind.Tls) || (kind == TransportKind.Tls) != (tls is not null))
        {
            throw new ArgumentException("TCP without TLS settings, or TLS with them", nameof(kind));
        }
        Kind = kind;
        _bind = bind;
        _options = options;
        _tls = tls;
        _logger = logger;
        Time = time ?? TimeProvider.System;
        _idleTicks = (long)(options.IdleTimeout.TotalSeconds * Time.TimestampFrequency);
        _handshakeTicks = (long)(options.HandshakeTimeout.TotalSeconds * Time.TimestampFrequency);
        var meter = meters.Create("NHub");
        var tag = new KeyValuePair<string, object?>("transport", kind == TransportKind.Tls ? "tls" : "tcp");
        _opened = meter.CreateCounter<long>("nhub.tcp.connections.opened", "{connection}", "CoAP over TCP/TLS connections accepted (RFC 8323)");
        _closedCounter = meter.CreateCounter<long>("nhub.tcp.connections.closed", "{connection}", "CoAP over TCP/TLS connections ended, by reason");
        _handshakes = meter.CreateCounter<long>("nhub.tls.handshakes", "{handshake}", "coaps+tcp TLS handshakes by result (success, or why not)");
        meter.CreateObservableUpDownCounter("nhub.tcp.connections", () => new Measurement<long>(Volatile.Read(ref _count), tag), "{connection}",
            "Open CoAP over TCP/TLS connections");
        _tag = tag;
        // Session ids unique across restarts in practice, and apart from the DTLS transport's (both key by them).
        _nextSessionId = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16) + (kind == TransportKind.Tls ? 0x8000L : 0x4000L);
    }

    private readonly KeyValuePair<string, object?> _tag;

    public TransportKind Kind { get; }

    internal TimeProvider Time { get; }

    internal CredentialCache Credentials => _tls!.Credentials;

    public EndPoint LocalEndPoint => _listener?.LocalEndPoint ?? _bind;

    /// <summary>Connections open now (established or still in their handshake).</summary>
    public int ConnectionCount => Volatile.Read(ref _count);

    public void Start(IDatagramReceiver receiver)
    {
        _receiver = receiver;
        var socket = new Socket(_bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (_bind.AddressFamily == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = true;
        }
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.NoDelay = true;
        socket.Bind(_bind);
        socket.Listen(1024);
        _listener = socket;
        _accepting = AcceptLoopAsync(socket);
        var period = TimeSpan.FromSeconds(Math.Clamp(Math.Min(_options.IdleTimeout.TotalSeconds, _options.HandshakeTimeout.TotalSeconds) / 4, 0.25, 15));
        _sweeper = Time.CreateTimer(_ => Sweep(), null, period, period);
        LogListening(_logger, Kind.Scheme(), socket.LocalEndPoint!);
    }

    public bool TrySend(PeerInfo peer, ReadOnlySpan<byte> datagram) => _connections.TrySend(peer, datagram);

    public bool IsOpen(PeerInfo peer) => _connections.IsOpen(peer);

    /// <summary>Revocation: aborts every connection authenticated as <paramref name="identity"/>.</summary>
    public int CloseSessions(string identity) => _connections.CloseSessions(identity);

    public async ValueTask StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        _stop.Cancel();
        _sweeper?.Dispose();
        _listener?.Dispose();
        if (_accepting is not null)
        {
            await _accepting.ConfigureAwait(false);
        }
        await _connections.ReleaseAllAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => StopAsync();

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // a connection reset before it was accepted
            }
            if (Interlocked.Increment(ref _count) > _options.MaxConnections)
            {
                Interlocked.Decrement(ref _count);
                _closedCounter.Add(1, _tag, new("reason", "capacity"));
                socket.Dispose();
                continue;
            }
            if (_tls is not null && socket.RemoteEndPoint is IPEndPoint remote && !_tls.Handshakes.TryAcquire(remote.Address))
            {
                Interlocked.Decrement(ref _count);
                _closedCounter.Add(1, _tag, new("reason", "rate_limited"));
                socket.Dispose();
                continue;
            }
            socket.NoDelay = true;
            var connection = new StreamConnection(this, socket, Interlocked.Increment(ref _nextSessionId), _options.MaxMessageSize, _options.SendQueueFrames, _tls,
                _stop.Token);
            _connections.Add(connection);
            _opened.Add(1, _tag);
            _ = Task.Run(connection.RunAsync);
        }
    }

    /// <summary>Handshake and idle timeouts (RFC 8323 §5.5: an idle connection is released).</summary>
    private void Sweep()
    {
        _tls?.Handshakes.Sweep();
        var now = Time.GetTimestamp();
        foreach (var connection in _connections.All)
        {
            if (!connection.Established)
            {
                if (now - connection.CreatedAt > _handshakeTicks)
                {
                    connection.Abort("handshake_timeout", "no TLS handshake or CSM within the handshake timeout");
                }
            }
            else if (now - connection.LastActivity > _idleTicks)
            {
                connection.Coap.Release("idle");
            }
        }
    }

    internal void OnConnectionUp(StreamConnection connection) => LogConnected(_logger, Kind.Scheme(), connection.SessionId, connection.RemoteEndPoint, connection.Peer!.Identity);

    internal void Deliver(PeerInfo peer, ReadOnlyMemory<byte> datagram) => _receiver!.Deliver(peer, datagram);

    internal void OnConnectionEnded(StreamConnection connection, string reason)
    {
        if (!_connections.Remove(connection))
        {
            return;
        }
        Interlocked.Decrement(ref _count);
        _closedCounter.Add(1, _tag, new("reason", reason));
        if (connection.Peer is { } peer)
        {
            _receiver?.OnPeerClosed(peer);
            LogClosed(_logger, Kind.Scheme(), connection.SessionId, connection.RemoteEndPoint, reason, connection.Coap.CloseDetail);
        }
    }

    internal void HandshakeSucceeded(StreamConnection connection, DeviceDtlsServer server)
    {
        // As for DTLS: an authenticated handshake gives its source's token back (docs/handshake-limits.md).
        _tls?.Handshakes.Refund(connection.RemoteEndPoint.Address);
        _handshakes.Add(1, new KeyValuePair<string, object?>("result", "success"), new("auth", CredentialAuth(server.AuthenticatedIdentity)),
            new("resumed", server.Resumed));
    }

    internal void HandshakeFailed(StreamConnection connection, string reason, string? identity, string detail)
    {
        _handshakes.Add(1, new KeyValuePair<string, object?>("result", reason));
        LogHandshakeFailed(_logger, connection.RemoteEndPoint, reason, identity, detail);
    }

    private static string CredentialAuth(string? identity) => identity is null ? "none" : NHub.Grains.CredentialIdentities.AuthTypeOf(identity);

    [LoggerMessage(EventId = 1300, Level = LogLevel.Debug, Message = "CoAP {Scheme} transport listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string scheme, EndPoint endPoint);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Debug, Message = "{Scheme} connection {SessionId} from {Peer} up: identity {Identity}")]
    private static partial void LogConnected(ILogger logger, string scheme, long sessionId, IPEndPoint peer, string? identity);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Debug, Message = "{Scheme} connection {SessionId} from {Peer} ended: {Reason} {Detail}")]
    private static partial void LogClosed(ILogger logger, string scheme, long sessionId, IPEndPoint peer, string reason, string? detail);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "TLS handshake with {Peer} failed: {Reason} (identity {Identity}): {Detail}")]
    private static partial void LogHandshakeFailed(ILogger logger, IPEndPoint peer, string reason, string? identity, string detail);
}
