using System.Collections.Concurrent;

namespace NHub.Gateway.Transport;

/// <summary>One connection of a reliable transport (TCP, TLS, WebSocket), as <see cref="ReliableConnectionTable{TConnection}"/> sees it.</summary>
internal interface IReliableConnection
{
    long SessionId { get; }

    /// <summary>The peer the CoAP stack knows; null until the connection is up (a TLS handshake in progress).</summary>
    PeerInfo? Peer { get; }

    CoapConnection Coap { get; }

    /// <summary>Ends the connection now with an RFC 8323 Abort (§5.6) carrying <paramref name="detail"/>.</summary>
    void Abort(string reason, string detail);
}

/// <summary>
/// The open connections of a reliable transport, by session id: what the stream and WebSocket transports share
/// behind <see cref="IDatagramTransport"/> (sends routed to the connection, its state, revocation, the stop).
/// </summary>
internal sealed class ReliableConnectionTable<TConnection>
    where TConnection : class, IReliableConnection
{
    private readonly ConcurrentDictionary<long, TConnection> _connections = new();

    public int Count => _connections.Count;

    public ICollection<TConnection> All => _connections.Values;

    public void Add(TConnection connection) => _connections[connection.SessionId] = connection;

    /// <summary>False when <paramref name="connection"/> was already removed.</summary>
    public bool Remove(TConnection connection) => _connections.TryRemove(new KeyValuePair<long, TConnection>(connection.SessionId, connection));

    /// <summary>A datagram of the CoAP stack for <paramref name="peer"/>, framed by its connection.</summary>
    public bool TrySend(PeerInfo peer, ReadOnlySpan<byte> datagram) =>
        _connections.TryGetValue(peer.SessionId, out var connection) && ReferenceEquals(connection.Peer, peer) && connection.Coap.Send(datagram);

    public bool IsOpen(PeerInfo peer) => _connections.TryGetValue(peer.SessionId, out var connection) && !connection.Coap.IsClosed;

    /// <summary>Revocation: aborts every connection authenticated as <paramref name="identity"/>; returns how many.</summary>
    public int CloseSessions(string identity)
    {
        var closed = 0;
        foreach (var connection in _connections.Values)
        {
            if (string.Equals(connection.Peer?.Identity, identity, StringComparison.Ordinal))
            {
                connection.Abort("revoked", "credential revoked");
                closed++;
            }
        }
        return closed;
    }

    /// <summary>The transport stops: every connection gets Release (RFC 8323 §5.5); waits up to <paramref name="wait"/> for them to end.</summary>
    public async Task ReleaseAllAsync(TimeSpan wait)
    {
        foreach (var connection in _connections.Values)
        {
            connection.Coap.Release("gateway stopping");
        }
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (!_connections.IsEmpty && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20).ConfigureAwait(false); // connections drain their writers and go
        }
    }
}

/// <summary>How a reliable connection hands a message to the CoAP stack.</summary>
internal static class ReliableConnectionDelivery
{
    /// <summary>
    /// Served on the reading thread when its route is synchronous, else handed to the stack (which copies it).
    /// <paramref name="datagram"/> is the connection's buffer, valid only during the call.
    /// </summary>
    public static void Deliver(this IDatagramReceiver receiver, PeerInfo peer, ReadOnlyMemory<byte> datagram)
    {
        if (!receiver.TryReceiveInline(peer, datagram))
        {
            receiver.OnDatagram(peer, datagram.Span);
        }
    }
}
