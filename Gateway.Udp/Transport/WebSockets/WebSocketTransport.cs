using System.Diagnostics.Metrics;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using NHub.Gateway.Transport.Tcp;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.Gateway.Transport.WebSockets;

/// <summary>
/// CoAP over WebSockets (RFC 8323 §4): <c>coap+ws://host/.well-known/coap</c> on the gateway's HTTP host
/// (<c>coaps+ws</c> when that host serves HTTPS). Each WebSocket is one peer: one binary message per CoAP message, the
/// §4.2 framing, CSM first, through the same <see cref="CoapConnection"/> as TCP. Connections arrive from the HTTP
/// endpoint (<see cref="AcceptAsync"/>); this class is the transport the CoAP stack sends through.
/// <para>
/// Who is at the other end (docs/device-guide.md, "CoAP over TCP, TLS and WebSockets"): a device authenticates the
/// upgrade request with its PSK credential as HTTP Basic credentials (<c>identity:psk_key</c>, RFC 7617), and is then
/// that device exactly as after a DTLS handshake (4.03 for another's resources, revocation closes the connection).
/// Without credentials the connection is plain CoAP (the request names its device), allowed only where
/// <c>Gateway:PlainMode</c> is Enabled. Credentials are refused over plain HTTP unless plain CoAP is enabled too.
/// </para>
/// </summary>
public sealed partial class WebSocketTransport : IDatagramTransport, ISessionCloser
{
    /// <summary>RFC 8323 §4.1: the WebSocket subprotocol, and §8.3–8.4: the path under /.well-known.</summary>
    public const string SubProtocol = "coap";
    public const string Path = "/.well-known/coap";

    private readonly ReliableConnectionTable<Connection> _connections = new();
    private readonly CredentialCache _credentials;
    private readonly int _maxMessageSize;
    private readonly int _sendQueueFrames;
    private readonly bool _plainAllowed;
    private readonly ILogger _logger;
    private readonly Counter<long> _opened;
    private readonly Counter<long> _closedCounter;
    private readonly Counter<long> _refused;
    private readonly CancellationTokenSource _stop = new();
    private readonly SourceRateLimiter? _attempts;
    private IDatagramReceiver? _receiver;
    private long _nextSessionId;

    public WebSocketTransport(CredentialCache credentials, int maxMessageSize, int sendQueueFrames, bool plainAllowed, ILogger<WebSocketTransport> logger,
        IMeterFactory meters, TlsServerFactory? limits = null)
    {
        _attempts = limits?.Handshakes;
        _credentials = credentials;
        _maxMessageSize = maxMessageSize;
        _sendQueueFrames = sendQueueFrames;
        _plainAllowed = plainAllowed;
        _logger = logger;
        var meter = meters.Create("NHub");
        _opened = meter.CreateCounter<long>("nhub.websocket.connections.opened", "{connection}", "CoAP over WebSockets connections accepted (RFC 8323 §4)");
        _closedCounter = meter.CreateCounter<long>("nhub.websocket.connections.closed", "{connection}", "CoAP over WebSockets connections ended, by reason");
        _refused = meter.CreateCounter<long>("nhub.websocket.upgrades.refused", "{request}", "WebSocket upgrade requests refused, by reason");
        meter.CreateObservableUpDownCounter("nhub.websocket.connections", () => _connections.Count, "{connection}", "Open CoAP over WebSockets connections");
        _nextSessionId = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16) + 0xC000L;
    }

    public TransportKind Kind => TransportKind.WebSocket;

    /// <summary>The HTTP host's endpoint, not a socket of this transport's own.</summary>
    public EndPoint LocalEndPoint => new DnsEndPoint("http-host", 0);

    public int ConnectionCount => _connections.Count;

    /// <summary>Started: the HTTP endpoint accepts connections from now on.</summary>
    public bool Started => _receiver is not null && !_stop.IsCancellationRequested;

    public void Start(IDatagramReceiver receiver) => _receiver = receiver;

    public bool TrySend(PeerInfo peer, ReadOnlySpan<byte> datagram) => _connections.TrySend(peer, datagram);

    public bool IsOpen(PeerInfo peer) => _connections.IsOpen(peer);

    public int CloseSessions(string identity) => _connections.CloseSessions(identity);

    public async ValueTask StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        _stop.Cancel();
        await _connections.ReleaseAllAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => StopAsync();

    /// <summary>
    /// The HTTP endpoint: checks the upgrade request (a WebSocket request offering the "coap" subprotocol, §4.1) and
    /// its credentials, answers 400/401/403 with problem details when they do not hold, else serves the connection
    /// until it ends.
    /// </summary>
    public async Task AcceptAsync(HttpContext context)
    {
        if (!Started)
        {
            await Refuse(context, StatusCodes.Status503ServiceUnavailable, "not_started", "CoAP over WebSockets is not serving (the gateway is starting or stopping)");
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Refuse(context, StatusCodes.Status400BadRequest, "not_websocket", $"{Path} is CoAP over WebSockets (RFC 8323 §4): send a WebSocket upgrade request with Sec-WebSocket-Protocol: coap");
            return;
        }
        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(SubProtocol, StringComparer.Ordinal))
        {
            await Refuse(context, StatusCodes.Status400BadRequest, "no_subprotocol", "Sec-WebSocket-Protocol must offer 'coap' (RFC 8323 §4.1)");
            return;
        }
        var secure = context.Request.IsHttps;
        string? identity = null;
        if (context.Request.Headers.Authorization is [{ } authorization, ..] && !string.IsNullOrEmpty(authorization))
        {
            if (!secure && !_plainAllowed)
            {
                await Refuse(context, StatusCodes.Status403Forbidden, "credentials_over_http", "device credentials are accepted over HTTPS only (coaps+ws://)");
                return;
            }
            if (_attempts is not null && context.Connection.RemoteIpAddress is { } address && !_attempts.TryAcquire(address))
            {
                context.Response.Headers.RetryAfter = "1";
                await Refuse(context, StatusCodes.Status429TooManyRequests, "rate_limited", "too many credential checks from this address; retry later");
                return;
            }
            var (authenticated, reason) = await AuthenticateAsync(authorization, context.RequestAborted);
            if (authenticated is null)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"coap\", charset=\"UTF-8\"";
                await Refuse(context, StatusCodes.Status401Unauthorized, reason, "the device credential was not accepted: send 'Authorization: Basic base64(psk_identity:psk_key)' with an active PSK credential");
                return;
            }
            identity = authenticated;
        }
        else if (!_plainAllowed)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"coap\", charset=\"UTF-8\"";
            await Refuse(context, StatusCodes.Status401Unauthorized, "no_credentials", "a device credential is required: send 'Authorization: Basic base64(psk_identity:psk_key)'");
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync(SubProtocol);
        var remote = new IPEndPoint(context.Connection.RemoteIpAddress ?? IPAddress.None, context.Connection.RemotePort);
        var id = Interlocked.Increment(ref _nextSessionId);
        var peer = new PeerInfo(remote, secure ? TransportKind.SecureWebSocket : TransportKind.WebSocket, identity, id)
        {
            SessionKey = (secure ? "wss:" : "ws:") + Guid.NewGuid().ToString("N"),
        };
        var connection = new Connection(this, socket, peer, _maxMessageSize, _sendQueueFrames);
        _connections.Add(connection);
        _opened.Add(1);
        LogConnected(_logger, peer.Kind.Scheme(), id, remote, identity);
        string reasonClosed;
        try
        {
            reasonClosed = await connection.RunAsync(_stop.Token);
        }
        finally
        {
            _connections.Remove(connection);
        }
        _closedCounter.Add(1, new KeyValuePair<string, object?>("reason", reasonClosed));
        _receiver?.OnPeerClosed(peer);
        LogClosed(_logger, peer.Kind.Scheme(), id, remote, reasonClosed, connection.Coap.CloseDetail);
    }

    /// <summary>RFC 7617 Basic credentials: a PSK identity and its key as the credential's response showed it (hex).</summary>
    private async Task<(string? Identity, string Reason)> AuthenticateAsync(string authorization, CancellationToken ct)
    {
        const string scheme = "Basic ";
        if (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return (null, "unsupported_scheme");
        }
        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(authorization[scheme.Length..].Trim()));
        }
        catch (Exception ex) when (ex is FormatException or DecoderFallbackException)
        {
            return (null, "malformed_credentials");
        }
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon > _credentials.Options.MaxIdentityLength)
        {
            return (null, "malformed_credentials");
        }
        var identity = decoded[..colon];
        var secret = decoded[(colon + 1)..];
        var credential = await _credentials.GetAsync(identity, ct);
        if (credential is null || !credential.IsPsk)
        {
            return (null, "unknown_identity");
        }
        if (!credential.IsActive)
        {
            return (null, "revoked");
        }
        return KeyMatches(credential.Key, secret) ? (identity, "ok") : (null, "wrong_key");
    }

    /// <summary>
    /// The key as the API showed it, for either format (docs/device-guide.md, "which bytes are the key?"): "ascii"
    /// keys are those characters' bytes, "binary" keys the bytes the hex encodes. Compared in constant time.
    /// </summary>
    internal static bool KeyMatches(byte[] key, string shown)
    {
        var ascii = Encoding.UTF8.GetBytes(shown);
        if (CryptographicOperations.FixedTimeEquals(ascii, key))
        {
            return true;
        }
        try
        {
            return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(shown), key);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private async Task Refuse(HttpContext context, int status, string reason, string detail)
    {
        _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        await Results.Problem(detail: detail, statusCode: status, title: "CoAP over WebSockets refused", extensions: new Dictionary<string, object?> { ["reason"] = reason })
            .ExecuteAsync(context);
    }

    internal void Deliver(PeerInfo peer, ReadOnlyMemory<byte> datagram) => _receiver!.Deliver(peer, datagram);

    /// <summary>One WebSocket: a read loop of whole messages and a writer of queued frames.</summary>
    private sealed class Connection : ICoapConnectionHost, IReliableConnection
    {
        private readonly WebSocketTransport _transport;
        private readonly WebSocket _socket;
        private readonly Channel<(byte[] Frame, int Acknowledge)> _outbound = Channel.CreateUnbounded<(byte[], int)>(new UnboundedChannelOptions { SingleReader = true });
        private readonly int _maxMessageSize;
        private readonly int _sendQueueFrames;
        private int _queued;
        private int _closing;
        private CancellationTokenSource? _reading;

        public Connection(WebSocketTransport transport, WebSocket socket, PeerInfo peer, int maxMessageSize, int sendQueueFrames)
        {
            _transport = transport;
            _socket = socket;
            Peer = peer;
            _maxMessageSize = maxMessageSize;
            _sendQueueFrames = sendQueueFrames;
            Coap = new CoapConnection(CoapFramingKind.WebSocket, this, maxMessageSize);
        }

        public PeerInfo Peer { get; }
        public CoapConnection Coap { get; }
        public long SessionId => Peer.SessionId;

        PeerInfo? IReliableConnection.Peer => Peer;

        public void Abort(string reason, string detail) => Coap.Abort(reason, detail);

        public async Task<string> RunAsync(CancellationToken stopping)
        {
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            _reading = reading;
            var writer = WriteLoopAsync();
            Coap.Start();
            var buffer = new byte[_maxMessageSize + 1];
            var reason = "peer_closed";
            try
            {
                // Until the peer's Close (or the linger after ours): after the connection closed, messages are dropped,
                // and the read goes on so that our Abort or Release and our Close frame are read before the TCP close.
                while (true)
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        if (length == buffer.Length)
                        {
                            Coap.Abort("too_large", $"message exceeds the Max-Message-Size {_maxMessageSize}");
                            length = 0; // the rest of it is read and dropped
                        }
                        result = await _socket.ReceiveAsync(buffer.AsMemory(length), reading.Token).ConfigureAwait(false);
                        length += result.Count;
                    }
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                    if (Coap.IsClosed)
                    {
                        continue;
                    }
                    if (result.MessageType != WebSocketMessageType.Binary)
                    {
                        Coap.Abort("text_message", "CoAP messages are binary WebSocket messages (RFC 8323 §4.2)");
                        continue;
                    }
                    Coap.OnMessage(buffer.AsSpan(0, length));
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
            {
                reason = stopping.IsCancellationRequested ? "stopping" : Coap.CloseReason is null ? "socket_error" : reason;
            }
            finally
            {
                Coap.Closed(reason);
                Close(reason);
                await writer.ConfigureAwait(false);
                if (_socket.State != WebSocketState.Closed)
                {
                    _socket.Abort(); // the peer did not answer our Close within the linger
                }
            }
            return Coap.CloseReason ?? reason;
        }

        public void Deliver(ReadOnlyMemory<byte> datagram) => _transport.Deliver(Peer, datagram);

        public bool Write(byte[] frame, int acknowledge)
        {
            if (Volatile.Read(ref _closing) != 0 || Volatile.Read(ref _queued) >= _sendQueueFrames)
            {
                return false;
            }
            Interlocked.Increment(ref _queued);
            return _outbound.Writer.TryWrite((frame, acknowledge));
        }

        /// <summary>No more frames; the writer sends what is queued and our Close frame; the read waits for the peer's Close for at most 5 s.</summary>
        public void Close(string reason)
        {
            if (Interlocked.Exchange(ref _closing, 1) == 0)
            {
                _outbound.Writer.TryComplete();
                try
                {
                    _reading?.CancelAfter(TimeSpan.FromSeconds(5));
                }
                catch (ObjectDisposedException)
                {
                    // the read already ended
                }
            }
        }

        private async Task WriteLoopAsync()
        {
            try
            {
                await foreach (var (frame, acknowledge) in _outbound.Reader.ReadAllAsync().ConfigureAwait(false))
                {
                    await _socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
                    Interlocked.Decrement(ref _queued);
                    if (acknowledge != -1)
                    {
                        Coap.OnWritten(acknowledge);
                    }
                }
                if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, Coap.CloseReason, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
            {
                Coap.Closed("send_failed");
                _socket.Abort();
            }
        }
    }

    [LoggerMessage(EventId = 1310, Level = LogLevel.Debug, Message = "{Scheme} connection {SessionId} from {Peer} up: identity {Identity}")]
    private static partial void LogConnected(ILogger logger, string scheme, long sessionId, IPEndPoint peer, string? identity);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Debug, Message = "{Scheme} connection {SessionId} from {Peer} ended: {Reason} {Detail}")]
    private static partial void LogClosed(ILogger logger, string scheme, long sessionId, IPEndPoint peer, string reason, string? detail);
}
