using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace NHub.Gateway.Transport.Udp;

/// <summary>
/// Maps a datagram's raw socket address to one <see cref="PeerInfo"/> (and back), so that the hot path allocates
/// only for a peer it has not seen. Bounded: when full the table is cleared and peers are re-learnt on demand.
/// </summary>
internal sealed class PeerAddressTable(int maxPeers)
{
    private readonly ConcurrentDictionary<SocketAddress, PeerInfo> _byAddress = new();
    private readonly ConcurrentDictionary<PeerInfo, SocketAddress> _addressOf = new(ReferenceEqualityComparer.Instance);
    private static readonly IPEndPoint IPv4Template = new(IPAddress.Any, 0);
    private static readonly IPEndPoint IPv6Template = new(IPAddress.IPv6Any, 0);
    private long _nextSessionId;

    public int Count => _byAddress.Count;

    /// <summary>The peer for <paramref name="received"/>; the mutable address is copied only for a new peer.</summary>
    public PeerInfo GetOrAdd(SocketAddress received)
    {
        if (_byAddress.TryGetValue(received, out var peer))
        {
            return peer;
        }
        if (_byAddress.Count >= maxPeers)
        {
            _byAddress.Clear();
            _addressOf.Clear();
        }
        var copy = new SocketAddress(received.Family, received.Size);
        received.Buffer.Span.CopyTo(copy.Buffer.Span);
        // IPEndPoint.Create rejects a socket address of another family than the template's.
        var template = copy.Family == AddressFamily.InterNetwork ? IPv4Template : IPv6Template;
        var endPoint = (IPEndPoint)template.Create(copy);
        if (endPoint.Address.IsIPv4MappedToIPv6)
        {
            endPoint = new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port);
        }
        peer = new PeerInfo(endPoint, TransportKind.Udp, Identity: null, Interlocked.Increment(ref _nextSessionId));
        if (_byAddress.TryAdd(copy, peer))
        {
            _addressOf[peer] = copy;
            return peer;
        }
        return _byAddress[copy];
    }

    public bool TryGetAddress(PeerInfo peer, out SocketAddress address) => _addressOf.TryGetValue(peer, out address!);

    /// <summary>The socket address to send to for a peer not learnt from a datagram (e.g. after a table reset).</summary>
    public static SocketAddress ToSocketAddress(IPEndPoint endPoint, AddressFamily socketFamily)
    {
        var ep = socketFamily == AddressFamily.InterNetworkV6 && endPoint.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(endPoint.Address.MapToIPv6(), endPoint.Port)
            : endPoint;
        return ep.Serialize();
    }
}
