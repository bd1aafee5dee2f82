using System.Collections.Concurrent;
using System.Net;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Peers by socket address (for inbound datagrams, looked up with the receive loop's reused
/// <see cref="SocketAddress"/>, no allocation) and established sessions by id (for sends). Bounded: a peer beyond
/// <c>maxPeers</c> is refused.
/// </summary>
internal sealed class PeerTable(int maxPeers)
{
    private readonly ConcurrentDictionary<SocketAddress, DtlsPeer> _byAddress = new();
    private readonly ConcurrentDictionary<long, DtlsPeer> _bySession = new();
    private int _count;

    /// <summary>Peers: established sessions plus handshakes in progress.</summary>
    public int Count => Volatile.Read(ref _count);

    public int SessionCount => _bySession.Count;

    public bool TryGet(SocketAddress address, out DtlsPeer peer) => _byAddress.TryGetValue(address, out peer!);

    public bool TryGetSession(long sessionId, out DtlsPeer peer) => _bySession.TryGetValue(sessionId, out peer!);

    /// <summary>False when full or when the address already has a peer.</summary>
    public bool TryAdd(DtlsPeer peer)
    {
        if (Interlocked.Increment(ref _count) > maxPeers)
        {
            Interlocked.Decrement(ref _count);
            return false;
        }
        if (!_byAddress.TryAdd(peer.Address, peer))
        {
            Interlocked.Decrement(ref _count);
            return false;
        }
        return true;
    }

    public void AddSession(DtlsPeer peer) => _bySession[peer.SessionId] = peer;

    /// <summary>Removes exactly this peer (not a newer one at the same address).</summary>
    public void Remove(DtlsPeer peer)
    {
        _bySession.TryRemove(KeyValuePair.Create(peer.SessionId, peer));
        if (_byAddress.TryRemove(KeyValuePair.Create(peer.Address, peer)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>A snapshot, for sweeps and shutdown (allocates; not for the datagram path).</summary>
    public DtlsPeer[] Snapshot() => [.. _byAddress.Values];

    public DtlsPeer[] SessionsSnapshot() => [.. _bySession.Values];

    public static SocketAddress Clone(SocketAddress address)
    {
        var copy = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span[..address.Size].CopyTo(copy.Buffer.Span);
        return copy;
    }
}
