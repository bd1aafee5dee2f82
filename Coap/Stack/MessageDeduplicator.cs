namespace NHub.Coap.Stack;

/// <summary>What the deduplicator knows of an incoming (peer, message id).</summary>
internal enum DedupState
{
    /// <summary>First time seen: process it.</summary>
    New,

    /// <summary>
    /// A duplicate of a request still being processed: do not process it again (§4.5). The answer (piggybacked
    /// response, or the empty ACK of a separate response) is on its way; the caller drops the duplicate.
    /// </summary>
    InProgress,

    /// <summary>A duplicate of a finished request: send <see cref="MessageDeduplicator{TPeer}.Lookup"/>'s cached response again.</summary>
    Completed,

    /// <summary>
    /// A remembered message id with other content: not a retransmission but a new message from a peer that reuses
    /// the id (§4.2, §4.4). Process it like <see cref="New"/>; it replaced the old entry.
    /// </summary>
    Reused,
}

/// <summary>
/// RFC 7252 §4.5 de-duplication: a CON (NON) message id from a peer is remembered for EXCHANGE_LIFETIME
/// (NON_LIFETIME, §4.8.2) with the response sent for it, so a retransmission is answered from the cache and never
/// processed twice.
/// <para>
/// A retransmission is the same message sent again (§4.2), so each entry also keeps a fingerprint of the message's
/// bytes: a message that reuses a remembered message id with other content is not a duplicate but a new message
/// from a peer that restarted its message-id counter (a rebooted plain-CoAP device behind the same address and
/// port); it replaces the entry and is processed. The peer itself is the transport's session (for DTLS one session
/// and epoch, §9.1), so a new DTLS session never meets the old one's entries. See docs/deduplication.md.
/// </para>
/// <para>
/// Expiry: every entry of one type lives the same time, so entries expire in insertion order. Entries sit in two
/// intrusive FIFO lists (CON, NON); expiry pops from their heads on every <see cref="Lookup"/> and on
/// <see cref="Sweep"/> — O(1) per entry, no timers, no tasks.
/// </para>
/// <para>
/// Bounds and eviction: at most <see cref="CoapServerOptions.MaxDedupEntriesPerPeer"/> per peer and
/// <see cref="CoapServerOptions.MaxDedupEntries"/> in total; beyond either the peer's (or the globally) oldest entry
/// is forgotten first. Every entry is also linked in its peer's list, so eviction is O(1) and the memory held is
/// exactly the entries counted. A retransmission of a forgotten message id would be processed again: size the caps
/// for the expected request rate × lifetime.
/// </para>
/// Entry objects are recycled through a small free list, so steady traffic allocates no per-message objects here.
/// </summary>
internal sealed class MessageDeduplicator<TPeer>(CoapServerOptions options, TimeProvider time)
    where TPeer : notnull
{
    private const int MaxPooledEntries = 1024;

    private sealed class Entry
    {
        public TPeer Peer = default!;
        public ushort MessageId;
        public ulong Fingerprint;
        public long InsertedAt;
        public long ExpiresAt;
        public bool Confirmable;
        public bool Completed;
        public byte[]? Response;
        public PeerEntries? Owner;

        // Links in the lifetime list (CON or NON) and in the peer's list; head = oldest.
        public Entry? PreviousByAge;
        public Entry? NextByAge;
        public Entry? PreviousOfPeer;
        public Entry? NextOfPeer;
    }

    private sealed class PeerEntries
    {
        public EntryList List;
        public int Count;
    }

    /// <summary>An intrusive FIFO list of entries (head = oldest), linked through the links that <see cref="ILinks"/> picks.</summary>
    private struct EntryList
    {
        public Entry? Oldest;
        public Entry? Newest;
    }

    /// <summary>
    /// Which pair of an entry's links a list uses. Static members on structs: the generic list operations below compile
    /// to direct field access for each pair, with no delegate and no allocation.
    /// </summary>
    private interface ILinks
    {
        static abstract ref Entry? Previous(Entry entry);

        static abstract ref Entry? Next(Entry entry);
    }

    private readonly struct ByAge : ILinks
    {
        public static ref Entry? Previous(Entry entry) => ref entry.PreviousByAge;

        public static ref Entry? Next(Entry entry) => ref entry.NextByAge;
    }

    private readonly struct OfPeer : ILinks
    {
        public static ref Entry? Previous(Entry entry) => ref entry.PreviousOfPeer;

        public static ref Entry? Next(Entry entry) => ref entry.NextOfPeer;
    }

    private readonly Dictionary<(TPeer, ushort), Entry> _entries = new();
    private readonly Dictionary<TPeer, PeerEntries> _peers = new();
    private readonly Stack<Entry> _free = new();
    private readonly Lock _gate = new();
    private EntryList _confirmable;
    private EntryList _nonConfirmable;

    /// <summary>Remembered (peer, message id) pairs.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Peers with at least one remembered message id.</summary>
    public int PeerCount
    {
        get
        {
            lock (_gate)
            {
                return _peers.Count;
            }
        }
    }

    /// <summary>
    /// Records a new message id, or says it is a duplicate (and returns the cached response if finished).
    /// <paramref name="fingerprint"/> identifies the message's content (<see cref="MessageFingerprint"/>): a
    /// remembered message id with another fingerprint is a new message, not a retransmission.
    /// </summary>
    public DedupState Lookup(TPeer peer, ushort messageId, bool confirmable, ulong fingerprint, out byte[]? cachedResponse)
    {
        cachedResponse = null;
        var reused = false;
        var now = time.GetTimestamp();
        lock (_gate)
        {
            ExpireLocked(now);
            if (_entries.TryGetValue((peer, messageId), out var existing))
            {
                if (existing.Fingerprint == fingerprint)
                {
                    cachedResponse = existing.Response;
                    return existing.Completed ? DedupState.Completed : DedupState.InProgress;
                }
                // Same message id, other content: the old exchange is over for this peer (it reuses the id).
                RemoveLocked(existing);
                reused = true;
            }
            var lifetime = confirmable ? options.ExchangeLifetime : options.NonLifetime;
            var entry = _free.Count > 0 ? _free.Pop() : new Entry();
            entry.Peer = peer;
            entry.MessageId = messageId;
            entry.Fingerprint = fingerprint;
            entry.InsertedAt = now;
            entry.ExpiresAt = now + ToTimestamp(lifetime);
            entry.Confirmable = confirmable;
            _entries.Add((peer, messageId), entry);
            if (confirmable)
            {
                Append<ByAge>(ref _confirmable, entry);
            }
            else
            {
                Append<ByAge>(ref _nonConfirmable, entry);
            }
            if (!_peers.TryGetValue(peer, out var mine))
            {
                mine = new PeerEntries();
                _peers.Add(peer, mine);
            }
            entry.Owner = mine;
            Append<OfPeer>(ref mine.List, entry);
            mine.Count++;
            while (mine.Count > options.MaxDedupEntriesPerPeer)
            {
                RemoveLocked(mine.List.Oldest!);
            }
            while (_entries.Count > options.MaxDedupEntries && GloballyOldest() is { } oldest)
            {
                RemoveLocked(oldest);
            }
            return reused ? DedupState.Reused : DedupState.New;
        }
    }

    /// <summary>
    /// Stores the response sent for (peer, message id) (null: nothing was sent, e.g. a NON without response); ignored
    /// when the entry now belongs to another message that reused the id while this one was processed.
    /// </summary>
    public void Complete(TPeer peer, ushort messageId, ulong fingerprint, byte[]? response)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue((peer, messageId), out var entry) && entry.Fingerprint == fingerprint)
            {
                entry.Response = response;
                entry.Completed = true;
            }
        }
    }

    /// <summary>Forgets a message id whose processing failed before any answer, so a retransmission is processed again.</summary>
    public void Forget(TPeer peer, ushort messageId)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue((peer, messageId), out var entry))
            {
                RemoveLocked(entry);
            }
        }
    }

    /// <summary>
    /// Forgets expired entries now. <see cref="Lookup"/> does this lazily; a host may also call it from a periodic
    /// timer so an idle server releases its memory. Returns the number of entries removed.
    /// </summary>
    public int Sweep()
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            var before = _entries.Count;
            ExpireLocked(now);
            return before - _entries.Count;
        }
    }

    private void ExpireLocked(long now)
    {
        while (_confirmable.Oldest is { } c && c.ExpiresAt <= now)
        {
            RemoveLocked(c);
        }
        while (_nonConfirmable.Oldest is { } n && n.ExpiresAt <= now)
        {
            RemoveLocked(n);
        }
    }

    private Entry? GloballyOldest()
    {
        var c = _confirmable.Oldest;
        var n = _nonConfirmable.Oldest;
        return c is null ? n : n is null ? c : c.InsertedAt <= n.InsertedAt ? c : n;
    }

    private void RemoveLocked(Entry entry)
    {
        _entries.Remove((entry.Peer, entry.MessageId));
        if (entry.Confirmable)
        {
            Unlink<ByAge>(ref _confirmable, entry);
        }
        else
        {
            Unlink<ByAge>(ref _nonConfirmable, entry);
        }
        var owner = entry.Owner!;
        Unlink<OfPeer>(ref owner.List, entry);
        owner.Count--;
        if (owner.Count == 0)
        {
            _peers.Remove(entry.Peer);
        }
        entry.Peer = default!;
        entry.Response = null;
        entry.Completed = false;
        entry.Owner = null;
        if (_free.Count < MaxPooledEntries)
        {
            _free.Push(entry);
        }
    }

    private static void Append<TLinks>(ref EntryList list, Entry entry)
        where TLinks : struct, ILinks
    {
        TLinks.Previous(entry) = list.Newest;
        TLinks.Next(entry) = null;
        if (list.Newest is { } newest)
        {
            TLinks.Next(newest) = entry;
        }
        else
        {
            list.Oldest = entry;
        }
        list.Newest = entry;
    }

    private static void Unlink<TLinks>(ref EntryList list, Entry entry)
        where TLinks : struct, ILinks
    {
        var previous = TLinks.Previous(entry);
        var next = TLinks.Next(entry);
        if (previous is not null)
        {
            TLinks.Next(previous) = next;
        }
        else
        {
            list.Oldest = next;
        }
        if (next is not null)
        {
            TLinks.Previous(next) = previous;
        }
        else
        {
            list.Newest = previous;
        }
        TLinks.Previous(entry) = null;
        TLinks.Next(entry) = null;
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}
