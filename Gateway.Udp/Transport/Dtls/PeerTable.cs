using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Peers by socket address (for inbound datagrams, looked up with the receive loop's reused
/// <see cref="SocketAddress"/>, no allocation), established sessions by id (for sends) and by Connection ID (for
/// RFC 9146 records, whatever their source address). Bounded: a peer beyond <c>maxPeers</c> is refused.
/// </summary>
internal sealed class PeerTable(int maxPeers)
{
    private readonly ConcurrentDictionary<SocketAddress, DtlsPeer> _byAddress = new();
    private readonly ConcurrentDictionary<long, DtlsPeer> _bySession = new();
    private readonly ConcurrentDictionary<UInt128, DtlsPeer> _byConnectionId = new();
    private int _count;

    /// <summary>Peers: established sessions plus handshakes in progress.</summary>
    public int Count => Volatile.Read(ref _count);

    public int SessionCount => _bySession.Count;

    /// <summary>Established sessions with a Connection ID.</summary>
    public int ConnectionIdCount => _byConnectionId.Count;

    public bool TryGet(SocketAddress address, out DtlsPeer peer) => _byAddress.TryGetValue(address, out peer!);

    public bool TryGetSession(long sessionId, out DtlsPeer peer) => _bySession.TryGetValue(sessionId, out peer!);

    /// <summary>The session whose CID is <paramref name="connectionId"/> (this gateway's fixed CID length, at most 16 bytes).</summary>
    public bool TryGetByConnectionId(ReadOnlySpan<byte> connectionId, out DtlsPeer peer) =>
        _byConnectionId.TryGetValue(Key(connectionId), out peer!);

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
        Volatile.Write(ref peer.Registered, 1);
        return true;
    }

    /// <summary>The handshake succeeded: findable by session id, and by CID when it has one.</summary>
    public void AddSession(DtlsPeer peer)
    {
        _bySession[peer.SessionId] = peer;
        if (peer.ConnectionId is { } cid)
        {
            // Unique by construction (ConnectionIdIssuer): this never replaces another session's entry.
            _byConnectionId[Key(cid)] = peer;
        }
    }

    /// <summary>
    /// Under the peer's lock: re-keys <paramref name="peer"/> from its old address to <paramref name="address"/> (call
    /// before <see cref="DtlsPeer.MoveTo"/>). Returns the peer that held the new address, if any: the NAT gave that
    /// address to our device, so whoever had it is gone; the caller closes it (outside this peer's lock).
    /// </summary>
    public DtlsPeer? Move(DtlsPeer peer, SocketAddress address)
    {
        _byAddress.TryRemove(KeyValuePair.Create(peer.Address, peer));
        DtlsPeer? displaced = null;
        _byAddress.AddOrUpdate(address, peer, (_, existing) =>
        {
            displaced = ReferenceEquals(existing, peer) ? null : existing;
            return peer;
        });
        return displaced;
    }

    /// <summary>
    /// Adds a session taken over from the store under <paramref name="peer"/>'s address, whoever held it (the count is
    /// not capped here: the caller checked room before taking the session over). Returns the peer that held the address,
    /// if any (still registered by session and CID; the caller closes it when it has no CID).
    /// </summary>
    public DtlsPeer? AddTakingAddress(DtlsPeer peer)
    {
        Interlocked.Increment(ref _count);
        Volatile.Write(ref peer.Registered, 1);
        DtlsPeer? displaced = null;
        _byAddress.AddOrUpdate(peer.Address, peer, (_, holder) =>
        {
            displaced = holder;
            return peer;
        });
        return displaced;
    }

    /// <summary>Removes exactly this peer (not a newer one at the same address or a session that took its address).</summary>
    public void Remove(DtlsPeer peer)
    {
        _bySession.TryRemove(KeyValuePair.Create(peer.SessionId, peer));
        if (peer.ConnectionId is { } cid)
        {
            _byConnectionId.TryRemove(KeyValuePair.Create(Key(cid), peer));
        }
        _byAddress.TryRemove(KeyValuePair.Create(peer.Address, peer));
        if (Interlocked.Exchange(ref peer.Registered, 0) == 1)
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>A snapshot, for sweeps and shutdown (allocates; not for the datagram path). Includes peers whose address was taken.</summary>
    public DtlsPeer[] Snapshot()
    {
        var peers = new HashSet<DtlsPeer>(_byAddress.Values, ReferenceEqualityComparer.Instance);
        peers.UnionWith(_bySession.Values);
        return [.. peers];
    }

    public DtlsPeer[] SessionsSnapshot() => [.. _bySession.Values];

    public static SocketAddress Clone(SocketAddress address)
    {
        var copy = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span[..address.Size].CopyTo(copy.Buffer.Span);
        return copy;
    }

    /// <summary>A CID of at most 16 bytes as a number: injective for one fixed length, and no allocation per lookup.</summary>
    public static UInt128 Key(ReadOnlySpan<byte> connectionId)
    {
        Span<byte> padded = stackalloc byte[16];
        padded.Clear();
        connectionId.CopyTo(padded[(16 - connectionId.Length)..]);
        return BinaryPrimitives.ReadUInt128BigEndian(padded);
    }
}
