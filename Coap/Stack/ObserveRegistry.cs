namespace NHub.Coap.Stack;

/// <summary>Why an Observe relation ended (RFC 7641 §3.6, §4.2, §4.5).</summary>
public enum RelationEndReason
{
    /// <summary>GET without Observe, or Observe: 1, for the same resource and token.</summary>
    Deregistered,

    /// <summary>The client answered a notification with RST.</summary>
    Reset,

    /// <summary>A confirmable notification was never acknowledged.</summary>
    NotificationFailed,

    /// <summary>The peer's session ended (DTLS close, eviction, revocation).</summary>
    PeerClosed,

    /// <summary>Replaced by a new registration of the same client for the same resource.</summary>
    Replaced,

    /// <summary>The server removed it (resource gone, shutdown).</summary>
    Removed,

    /// <summary>
    /// The peer's session continues at another server (its DTLS session was taken over there, or this server handed it
    /// on when stopping): the relation goes with it, kept outside this server, and is not over for the client.
    /// </summary>
    Moved,
}

/// <summary>One client observing one resource (RFC 7641 §1.2): identified by the client endpoint and the token.</summary>
public sealed class ObserveRelation<TPeer>
    where TPeer : notnull
{
    internal ObserveRelation(TPeer peer, byte[] token, string resource, int? accept, long now)
    {
        Peer = peer;
        Token = token;
        Resource = resource;
        Accept = accept;
        LastConfirmableAt = now;
    }

    public TPeer Peer { get; }
    public byte[] Token { get; }

    /// <summary>The observed path, e.g. "/commands/869181072798893".</summary>
    public string Resource { get; }

    /// <summary>The Accept option of the registration, if any: every notification uses that format.</summary>
    public int? Accept { get; }

    /// <summary>Anything the resource wants to keep with the relation.</summary>
    public object? State { get; set; }

    internal uint Sequence { get; set; }
    internal int SinceConfirmable { get; set; }
    internal long LastConfirmableAt { get; set; }

    /// <summary>Message id of the notification still awaiting its ACK (RFC 7641 §4.5.2: at most one in flight).</summary>
    internal ushort? InFlight { get; set; }

    /// <summary>Message id of the last non-confirmable notification: an RST with it cancels the relation (§3.6).</summary>
    internal ushort? LastNonConfirmable { get; set; }

    public bool IsActive { get; internal set; } = true;
}

/// <summary>
/// Observe relations (RFC 7641), keyed by (peer, token) and by resource, capped globally and per peer.
/// Sequence numbers are 24-bit and increase per notification (§3.4, §4.4).
/// </summary>
public sealed class ObserveRegistry<TPeer>
    where TPeer : notnull
{
    private readonly Dictionary<(TPeer, TokenKey), ObserveRelation<TPeer>> _byToken = new();
    private readonly RelationIndex<string, TPeer> _byResource = new(StringComparer.Ordinal);
    private readonly RelationIndex<TPeer, TPeer> _byPeer = new();
    private readonly CoapServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();

    public ObserveRegistry(CoapServerOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
    }

    /// <summary>Raised after a relation is removed, outside the registry's lock.</summary>
    public event Action<ObserveRelation<TPeer>, RelationEndReason>? RelationEnded;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byToken.Count;
            }
        }
    }

    /// <summary>
    /// Registers (peer, token) on <paramref name="resource"/>. A registration of the same client for the same resource
    /// replaces the old relation (§4.1). Null when a cap is reached (the server then answers without Observe, §4.1).
    /// </summary>
    public ObserveRelation<TPeer>? Register(TPeer peer, ReadOnlySpan<byte> token, string resource, int? accept)
    {
        var ended = new List<(ObserveRelation<TPeer>, RelationEndReason)>();
        ObserveRelation<TPeer>? relation = null;
        lock (_gate)
        {
            var key = (peer, new TokenKey(token));
            if (_byToken.TryGetValue(key, out var same))
            {
                RemoveLocked(same);
                ended.Add((same, RelationEndReason.Replaced));
            }
            foreach (var r in _byPeer.Snapshot(peer))
            {
                if (string.Equals(r.Resource, resource, StringComparison.Ordinal))
                {
                    RemoveLocked(r);
                    ended.Add((r, RelationEndReason.Replaced));
                }
            }
            var peerCount = _byPeer.Count(peer);
            if (_byToken.Count < _options.MaxObserveRelations && peerCount < _options.MaxObserveRelationsPerPeer)
            {
                relation = new ObserveRelation<TPeer>(peer, token.ToArray(), resource, accept, _time.GetTimestamp());
                _byToken[(peer, new TokenKey(relation.Token))] = relation;
                _byResource.Add(resource, relation);
                _byPeer.Add(peer, relation);
            }
        }
        Raise(ended);
        return relation;
    }

    /// <summary>
    /// A relation registered at another server (or by this server's previous process) continues here for a session
    /// that moved here: as <see cref="Register"/>, and the next notification carries <paramref name="nextSequence"/>
    /// (24-bit), which the caller chose to be newer than anything the client got on the relation (RFC 7641 §3.4).
    /// </summary>
    public ObserveRelation<TPeer>? Restore(TPeer peer, ReadOnlySpan<byte> token, string resource, int? accept, uint nextSequence)
    {
        var relation = Register(peer, token, resource, accept);
        if (relation is not null)
        {
            lock (_gate)
            {
                relation.Sequence = (nextSequence - 1) & 0xFFFFFF;
            }
        }
        return relation;
    }

    public ObserveRelation<TPeer>? Find(TPeer peer, ReadOnlySpan<byte> token)
    {
        lock (_gate)
        {
            return _byToken.GetValueOrDefault((peer, new TokenKey(token)));
        }
    }

    /// <summary>Relations on <paramref name="resource"/> (a snapshot).</summary>
    public IReadOnlyList<ObserveRelation<TPeer>> ForResource(string resource)
    {
        lock (_gate)
        {
            return _byResource.Snapshot(resource);
        }
    }

    public bool Remove(ObserveRelation<TPeer> relation, RelationEndReason reason)
    {
        lock (_gate)
        {
            if (!relation.IsActive)
            {
                return false;
            }
            RemoveLocked(relation);
        }
        RelationEnded?.Invoke(relation, reason);
        return true;
    }

    /// <summary>The relation whose last non-confirmable notification carried <paramref name="messageId"/>.</summary>
    public ObserveRelation<TPeer>? FindByNonConfirmable(TPeer peer, ushort messageId)
    {
        lock (_gate)
        {
            return _byPeer.Find(peer, messageId, static (r, id) => r.LastNonConfirmable == id);
        }
    }

    public void RemovePeer(TPeer peer, RelationEndReason reason)
    {
        ObserveRelation<TPeer>[] removed;
        lock (_gate)
        {
            removed = _byPeer.Snapshot(peer);
            if (removed.Length == 0)
            {
                return;
            }
            foreach (var r in removed)
            {
                RemoveLocked(r);
            }
        }
        foreach (var r in removed)
        {
            RelationEnded?.Invoke(r, reason);
        }
    }

    /// <summary>
    /// The next notification's sequence number (24-bit, §3.4) and whether it must be confirmable: forced, or one in
    /// <see cref="CoapServerOptions.ConfirmableNotificationEvery"/>, or the last CON older than 24 h (§4.5).
    /// Returns the message id of the superseded in-flight notification, if any (§4.5.2).
    /// </summary>
    public (uint Sequence, bool Confirmable) NextNotification(ObserveRelation<TPeer> relation, bool forceConfirmable)
    {
        lock (_gate)
        {
            relation.Sequence = (relation.Sequence + 1) & 0xFFFFFF;
            var now = _time.GetTimestamp();
            var stale = now - relation.LastConfirmableAt >= (long)(_options.ConfirmableNotificationInterval.TotalSeconds * _time.TimestampFrequency);
            var confirmable = forceConfirmable || stale || ++relation.SinceConfirmable >= _options.ConfirmableNotificationEvery;
            if (confirmable)
            {
                relation.SinceConfirmable = 0;
                relation.LastConfirmableAt = now;
            }
            return (relation.Sequence, confirmable);
        }
    }

    /// <summary>Sequence number for the registration response (the current value, §4.4).</summary>
    public uint CurrentSequence(ObserveRelation<TPeer> relation)
    {
        lock (_gate)
        {
            return relation.Sequence;
        }
    }

    private void RemoveLocked(ObserveRelation<TPeer> r)
    {
        r.IsActive = false;
        _byToken.Remove((r.Peer, new TokenKey(r.Token)));
        _byResource.Remove(r.Resource, r);
        _byPeer.Remove(r.Peer, r);
    }

    private void Raise(List<(ObserveRelation<TPeer>, RelationEndReason)> ended)
    {
        foreach (var (r, reason) in ended)
        {
            RelationEnded?.Invoke(r, reason);
        }
    }
}

/// <summary>A token (0–8 bytes) as a value-comparable key.</summary>
internal readonly record struct TokenKey(ulong Bits, int Length)
{
    public TokenKey(ReadOnlySpan<byte> token)
        : this(Pack(token), token.Length)
    {
    }

    private static ulong Pack(ReadOnlySpan<byte> token)
    {
        ulong v = 0;
        foreach (var b in token)
        {
            v = (v << 8) | b;
        }
        return v;
    }
}
