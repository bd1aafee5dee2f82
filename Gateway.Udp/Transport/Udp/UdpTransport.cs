using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;

namespace NHub.Gateway.Transport.Udp;

/// <summary>
/// Plain CoAP over UDP (RFC 7252 §6.1): one socket per port (dual-mode IPv4/IPv6 when bound to <c>::</c>), a few
/// receive threads blocking in <c>recvfrom</c> (no readiness notification, no thread hop), each offering the datagram
/// to the receiver inline first (<see cref="IDatagramReceiver.TryReceiveInline"/>) and otherwise queueing a pooled
/// copy on a bounded queue (tail drop, counted) for a few workers. The socket is only used synchronously, so it stays
/// in blocking mode. Knows nothing of CoAP.
/// </summary>
public sealed partial class UdpTransport : IDatagramTransport
{
    private readonly UdpTransportOptions _options;
    private readonly ILogger _logger;
    private readonly PeerAddressTable _peers;
    private readonly CancellationTokenSource _stop = new();
    private readonly TransportMetrics _metrics;
    private Socket? _socket;
    private IDatagramReceiver? _receiver;
    private ReceiveQueue? _queue;
    private Thread[] _receiveLoops = [];

    public UdpTransport(UdpTransportOptions options, ILogger<UdpTransport> logger, IMeterFactory meterFactory)
    {
        _options = options;
        _logger = logger;
        _peers = new PeerAddressTable(options.MaxPeers);
        _metrics = new TransportMetrics(meterFactory, "udp");
    }

    /// <summary>Where datagram buffers come from (tests count rents and returns).</summary>
    internal ArrayPool<byte> Pool
    {
        init => _pool = value;
    }

    private readonly ArrayPool<byte> _pool = ArrayPool<byte>.Shared;

    public TransportKind Kind => TransportKind.Udp;

    public EndPoint LocalEndPoint => _socket?.LocalEndPoint ?? throw new InvalidOperationException("Not started");

    public void Start(IDatagramReceiver receiver)
    {
        _receiver = receiver;
        _socket = Bind(_options);
        _queue = new ReceiveQueue(_options.ReceiveQueueCapacity, _options.Workers, _pool, OnHandlerFailed);
        _queue.Start(receiver);
        var loops = _options.ReceiveLoops > 0 ? _options.ReceiveLoops : Math.Min(Environment.ProcessorCount, 4);
        _receiveLoops = new Thread[loops];
        for (var i = 0; i < loops; i++)
        {
            _receiveLoops[i] = new Thread(ReceiveLoop) { IsBackground = true, Name = $"CoAP UDP receive {i}" };
            _receiveLoops[i].Start();
        }
        LogListening(_logger, _socket.LocalEndPoint!);
    }

    public bool TrySend(PeerInfo peer, ReadOnlySpan<byte> datagram)
    {
        var socket = _socket;
        if (socket is null)
        {
            return false;
        }
        try
        {
            if (!_peers.TryGetAddress(peer, out var address))
            {
                address = PeerAddressTable.ToSocketAddress(peer.EndPoint, socket.AddressFamily);
            }
            socket.SendTo(datagram, SocketFlags.None, address);
            _metrics.Sent.Add(1);
            return true;
        }
        catch (SocketException ex)
        {
            _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "send_error"));
            LogSendFailed(_logger, peer.EndPoint, ex.SocketErrorCode);
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    public async ValueTask StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        await _stop.CancelAsync();
        // Closing the socket aborts the blocking receives (the runtime shuts the socket down first).
        _socket?.Dispose();
        // The workers stop; datagrams still queued give their pooled copies back (a late one from a loop is refused).
        if (_queue is { } queue)
        {
            await queue.StopAsync();
        }
        foreach (var loop in _receiveLoops)
        {
            await Task.Run(loop.Join);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private static Socket Bind(UdpTransportOptions options) => DatagramSocket.Bind(options.BindAddress, options.Port, options.SocketBufferBytes);

    private void ReceiveLoop()
    {
        var socket = _socket!;
        var receiver = _receiver!;
        var address = new SocketAddress(socket.AddressFamily);
        var ct = _stop.Token;
        // One byte more than the maximum: a datagram that fills it was truncated by the kernel (oversize).
        var size = _options.MaxDatagramSize + 1;
        // This loop's own buffer: an inline datagram is finished before the next receive; a queued one is copied.
        var buffer = _pool.Rent(size);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = socket.ReceiveFrom(buffer.AsSpan(0, size), SocketFlags.None, address);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException ex)
                {
                    if (ct.IsCancellationRequested)
                    {
                        return;
                    }
                    // ICMP port unreachable from a previous send surfaces here as ConnectionReset on some stacks.
                    _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "socket_error"));
                    LogReceiveError(_logger, ex.SocketErrorCode);
                    continue;
                }
                Deliver(receiver, address, buffer, received);
            }
        }
        finally
        {
            _pool.Return(buffer);
        }
    }

    /// <summary>One received datagram: inline if the receiver can, else a pooled copy on the queue. Never throws.</summary>
    private void Deliver(IDatagramReceiver receiver, SocketAddress address, byte[] buffer, int received)
    {
        _metrics.Received.Add(1);
        if (received > _options.MaxDatagramSize)
        {
            _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "oversize"));
            return;
        }
        PeerInfo peer;
        try
        {
            peer = _peers.GetOrAdd(address);
        }
        catch (Exception ex) when (ex is ArgumentException or SocketException)
        {
            // Never let one datagram end the receive loop.
            _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "bad_address"));
            LogHandlerError(_logger, ex, null);
            return;
        }
        try
        {
            if (receiver.TryReceiveInline(peer, buffer.AsMemory(0, received)))
            {
                return;
            }
        }
        catch (Exception ex)
        {
            // The stack must not throw; if it does, one datagram is lost, never the receive loop.
            _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "handler_error"));
            LogHandlerError(_logger, ex, peer.EndPoint);
            return;
        }
        if (!_queue!.TryQueue(peer, buffer.AsSpan(0, received)))
        {
            _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "queue_full"));
        }
    }

    private void OnHandlerFailed(PeerInfo peer, Exception error)
    {
        // The stack must not throw; if it does, one datagram is lost, never the worker.
        _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "handler_error"));
        LogHandlerError(_logger, error, peer.EndPoint);
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Debug, Message = "CoAP UDP transport listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "UDP send to {Peer} failed: {Error}")]
    private static partial void LogSendFailed(ILogger logger, IPEndPoint peer, SocketError error);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "UDP receive error {Error}")]
    private static partial void LogReceiveError(ILogger logger, SocketError error);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "CoAP stack threw for a datagram from {Peer}")]
    private static partial void LogHandlerError(ILogger logger, Exception ex, IPEndPoint? peer);
}
