using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using NHub.Gateway.Transport.Dtls;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Tcp;

/// <summary>
/// One accepted TCP connection: an optional TLS layer (BouncyCastle in non-blocking mode: bytes are offered and
/// taken, no thread is held), the RFC 8323 <see cref="CoapConnection"/>, and one writer that sends queued bytes in
/// order. The read loop is the only caller of the TLS layer's input side and of the connection's receive side; every
/// use of the TLS layer is under one lock, and encrypted bytes are queued inside it, so records leave in the order
/// they were sealed.
/// </summary>
internal sealed class StreamConnection : ICoapConnectionHost, IReliableConnection, IDisposable
{
    private readonly StreamTransport _transport;
    private readonly Socket _socket;
    private readonly Channel<Outbound> _outbound = Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _tlsGate = new();
    private readonly Lock _sendGate = new();
    private readonly TlsServerProtocol? _tls;
    private readonly DeviceDtlsServer? _server;
    private readonly CachedPskIdentityManager? _identities;
    private readonly TlsServerFactory? _tlsFactory;
    private readonly int _sendQueueLimit;
    private int _queued;
    private long _lastActivity;
    private int _closing;

    private readonly record struct Outbound(byte[] Bytes, int Acknowledge);

    public StreamConnection(StreamTransport transport, Socket socket, long sessionId, int maxMessageSize, int sendQueueLimit, TlsServerFactory? tls,
        CancellationToken stopping)
    {
        _transport = transport;
        _socket = socket;
        _socket.Blocking = false; // sends on the caller's thread never wait (SendOrQueue); async reads and writes are unaffected
        SessionId = sessionId;
        RemoteEndPoint = Normalize((IPEndPoint)socket.RemoteEndPoint!);
        _sendQueueLimit = sendQueueLimit;
        Coap = new CoapConnection(CoapFramingKind.Tcp, this, maxMessageSize);
        CreatedAt = transport.Time.GetTimestamp();
        _lastActivity = CreatedAt;
        _tlsFactory = tls;
        if (tls is not null)
        {
            (_server, _identities) = tls.Create(stopping);
            _tls = new TlsServerProtocol();
        }
    }

    public long SessionId { get; }
    public IPEndPoint RemoteEndPoint { get; }
    public CoapConnection Coap { get; }
    public long CreatedAt { get; }
    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>The peer the CoAP stack knows, once the connection is up (after the TLS handshake).</summary>
    public PeerInfo? Peer { get; private set; }

    /// <summary>The peer's CSM arrived (and, for TLS, the handshake completed): the connection is in service.</summary>
    public bool Established => Peer is not null && Coap.PeerCsmSeen;

    /// <summary>Reads until the peer closes, the connection is aborted or the transport stops.</summary>
    public async Task RunAsync()
    {
        var writer = WriteLoopAsync();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var plaintext = _tls is null ? null : ArrayPool<byte>.Shared.Rent(16 * 1024 + 256);
        var reason = "peer_closed";
        try
        {
            if (_tls is null)
            {
                Up(identity: null, sessionKey: "tcp:" + Guid.NewGuid().ToString("N"));
            }
            else
            {
                lock (_tlsGate)
                {
                    _tls.Accept(_server!);
                }
            }
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, _closed.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                if (Volatile.Read(ref _closing) != 0 || Coap.IsClosed)
                {
                    continue; // closing: what the peer still sends is dropped until it closes too (or the linger ends)
                }
                Volatile.Write(ref _lastActivity, _transport.Time.GetTimestamp());
                if (_tls is null)
                {
                    Coap.OnBytes(buffer.AsSpan(0, read));
                }
                else if (!(Peer is null ? await HandshakeStepAsync(buffer, read, plaintext!).ConfigureAwait(false) : OfferTls(buffer, read, plaintext!)))
                {
                    reason = Coap.CloseReason ?? "tls_failed";
                    Coap.Closed(reason);
                    Close(reason);
                }
            }
        }
        catch (OperationCanceledException)
        {
            reason = Coap.CloseReason ?? "closed";
        }
        catch (SocketException ex)
        {
            reason = "socket_" + ex.SocketErrorCode.ToString().ToLowerInvariant();
        }
        catch (ObjectDisposedException)
        {
            reason = Coap.CloseReason ?? "closed";
        }
        finally
        {
            if (plaintext is not null)
            {
                ArrayPool<byte>.Shared.Return(plaintext);
            }
            Coap.Closed(reason);
            Close(Coap.CloseReason ?? reason);
            await writer.ConfigureAwait(false);
            ArrayPool<byte>.Shared.Return(buffer);
            _socket.Dispose();
            Dispose();
            _transport.OnConnectionEnded(this, Coap.CloseReason ?? reason);
        }
    }

    /// <summary>During the handshake: the records go to BouncyCastle on a handshake thread (<see cref="TlsServerFactory.TryRunHandshakeStep"/>).</summary>
    private async Task<bool> HandshakeStepAsync(byte[] buffer, int read, byte[] plaintext)
    {
        var step = _tlsFactory!.TryRunHandshakeStep(() => OfferTls(buffer, read, plaintext));
        if (step is null)
        {
            Coap.Closed("handshake_queue_full");
            _transport.HandshakeFailed(this, "queue_full", null, "every handshake thread is busy and the queue is full");
            return false;
        }
        return await step.ConfigureAwait(false);
    }

    /// <summary>Feeds TLS records; brings the connection up when the handshake completes. False when TLS failed (alert queued).</summary>
    private bool OfferTls(byte[] buffer, int read, byte[] plaintext)
    {
        var wasHandshaking = Peer is null;
        int available;
        lock (_tlsGate)
        {
            try
            {
                _tls!.OfferInput(buffer, 0, read);
            }
            catch (Exception ex)
            {
                // Counted, logged and the stale key dropped before the alert leaves: once the client has it, it may retry.
                _transport.HandshakeFailed(this, _identities!.RejectReason ?? _server!.CertificateRejectReason ?? Reason(ex), _server!.OfferedIdentity,
                    _server.LastAlert is { } alert ? $"{ex.Message} ({alert})" : ex.Message);
                if (_server.CertificateRejectReason is null && _identities.RejectReason is null && _identities.OfferedIdentity is { } offered && ex is TlsFatalAlert)
                {
                    _transport.Credentials.Invalidate(offered); // the key we hold may be a stale one (as for DTLS)
                }
                QueueTlsOutputLocked(-1); // the fatal alert BouncyCastle raised
                return false;
            }
            QueueTlsOutputLocked(-1);
            available = _tls.GetAvailableInputBytes();
        }
        if (wasHandshaking && !_tls.IsHandshaking && _server!.AuthenticatedIdentity is { } identity)
        {
            Up(identity, _server.SessionKey is { } key ? "tls:" + key : "tls:" + Guid.NewGuid().ToString("N"));
            _transport.HandshakeSucceeded(this, _server);
        }
        while (available > 0)
        {
            int count;
            lock (_tlsGate)
            {
                count = _tls.ReadInput(plaintext, 0, Math.Min(available, plaintext.Length));
                available = _tls.GetAvailableInputBytes();
            }
            if (!Coap.OnBytes(plaintext.AsSpan(0, count)))
            {
                break;
            }
        }
        return true;
    }

    private static string Reason(Exception ex) => ex switch
    {
        TlsFatalAlertReceived => "alert_received",
        TlsFatalAlert => "alert_sent",
        _ => "error",
    };

    private void Up(string? identity, string sessionKey)
    {
        Peer = new PeerInfo(RemoteEndPoint, _transport.Kind, identity, SessionId) { SessionKey = sessionKey };
        _transport.OnConnectionUp(this);
        Coap.Start();
    }

    public void Deliver(ReadOnlyMemory<byte> datagram) => _transport.Deliver(Peer!, datagram);

    public bool Write(byte[] frame, int acknowledge)
    {
        if (Volatile.Read(ref _closing) != 0 || Volatile.Read(ref _queued) >= _sendQueueLimit)
        {
            return false;
        }
        if (_tls is not null && Peer is null)
        {
            return false; // still in the TLS handshake: there is no record layer to send a frame with (an Abort or Release then just closes)
        }
        if (_tls is null)
        {
            return SendOrQueue(frame, acknowledge);
        }
        lock (_tlsGate)
        {
            try
            {
                _tls.WriteApplicationData(frame, 0, frame.Length);
            }
            catch (IOException)
            {
                return false; // the TLS layer is closed
            }
            return QueueTlsOutputLocked(acknowledge);
        }
    }

    /// <summary>Sends what the TLS layer has to send; the last chunk carries <paramref name="acknowledge"/>. Under <see cref="_tlsGate"/>, so records leave in the order sealed.</summary>
    private bool QueueTlsOutputLocked(int acknowledge)
    {
        var pending = _tls!.GetAvailableOutputBytes();
        var bytes = pending == 0 ? [] : new byte[pending];
        if (pending > 0)
        {
            _tls.ReadOutput(bytes, 0, pending);
        }
        return pending <= 0 && acknowledge == -1 || SendOrQueue(bytes, acknowledge);
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> on the caller's thread when nothing is queued before them and the kernel takes
    /// them all (the socket is non-blocking: a full send buffer is WouldBlock, never a wait); otherwise, or for the
    /// rest, queues them for the writer, which keeps the order. Most responses go out here, without a thread hop.
    /// </summary>
    private bool SendOrQueue(byte[] bytes, int acknowledge)
    {
        lock (_sendGate)
        {
            if (bytes.Length > 0 && Volatile.Read(ref _queued) == 0 && Volatile.Read(ref _closing) == 0)
            {
                var sent = _socket.Send(bytes, SocketFlags.None, out var error);
                if (error == SocketError.Success && sent == bytes.Length)
                {
                    if (acknowledge != -1)
                    {
                        // Not on this thread: the message layer may be sending from inside its own bookkeeping.
                        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Connection.Coap.OnWritten(state.Acknowledge), (Connection: this, Acknowledge: acknowledge),
                            preferLocal: false);
                    }
                    return true;
                }
                if (error is not (SocketError.Success or SocketError.WouldBlock))
                {
                    return false; // the connection is failing; the read loop ends it
                }
                if (sent > 0)
                {
                    bytes = bytes[sent..];
                }
            }
            Interlocked.Increment(ref _queued);
            return _outbound.Writer.TryWrite(new Outbound(bytes, acknowledge));
        }
    }

    /// <summary>
    /// Stops accepting writes; the writer sends what is queued, then shuts the socket down for sending (FIN). Reading
    /// goes on, dropping what arrives, until the peer closes too or <see cref="Linger"/> passes: closing a socket with
    /// unread bytes makes the kernel answer RST, which can destroy the last frames (an Abort, a TLS alert) before the
    /// peer reads them.
    /// </summary>
    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }
        _outbound.Writer.TryComplete();
        try
        {
            _closed.CancelAfter(Linger);
        }
        catch (ObjectDisposedException)
        {
            // already ended
        }
    }

    /// <summary>How long a closing connection waits for the peer to close its side.</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    /// <summary>Ends the connection now (stop, revocation): no more reads, what is queued is still written.</summary>
    public void Abort(string reason, string detail)
    {
        Coap.Abort(reason, detail);
        Close(reason);
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var item in _outbound.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                var remaining = item.Bytes.AsMemory();
                while (!remaining.IsEmpty)
                {
                    var sent = await _socket.SendAsync(remaining, SocketFlags.None).ConfigureAwait(false);
                    remaining = remaining[sent..];
                }
                Interlocked.Decrement(ref _queued);
                if (item.Acknowledge != -1)
                {
                    Coap.OnWritten(item.Acknowledge);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Coap.Closed("send_failed");
            Close("send_failed");
        }
        finally
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send); // a FIN after the last frame; reading goes on (see Close)
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // already gone
            }
        }
    }

    public void Dispose() => _closed.Dispose();

    private static IPEndPoint Normalize(IPEndPoint endPoint) =>
        endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
}
