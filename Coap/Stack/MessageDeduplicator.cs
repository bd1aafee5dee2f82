namespace NHub.Coap.Stack;

/// <summary>What the deduplicator knows of an incoming (peer, message id).</summary>
public enum DedupState
{
    /// <summary>First time seen: process it.</summary>
    New,

    /// <summary>A duplicate of a request still being processed: do not process again (§4.5).</summary>
    InProgress,

    /// <summary>A duplicate of a finished request: send <see cref="MessageDeduplicator{TPeer}.Lookup"/>'s cached response again.</summary>
    Completed,
}

/// <summary>
/// RFC 7252 §4.5 de-duplication: a CON (or NON) message id from a peer is remembered for EXCHANGE_LIFETIME
/// (NON_LIFETIME) with the response sent for it, so a retransmission is answered from the cache and never processed
/// twice. Every entry lives the same time per type, so entries expire in insertion order: a FIFO per lifetime gives
/// O(1) expiry with no timers. Bounded globally and per peer; beyond a bound the oldest entry is forgotten first.
/// </summary>
public sealed class MessageDeduplicator<TPeer>
    where TPeer : notnull
{
    private sealed class Entry(TPeer peer, ushort messageId, long insertedAt, long expiresAt)
    {
        public readonly TPeer Peer = peer;
        public readonly ushort MessageId = messageId;
        public readonly long InsertedAt = insertedAt;
        public readonly long ExpiresAt = expiresAt;
        public byte[]? Response;
        public bool Completed;
        public bool Evicted;
    }

    private readonly Dictionary<(TPeer, ushort), Entry> _entries = new();
    private readonly Dictionary<TPeer, Queue<Entry>> _perPeer = new();
    private readonly Queue<Entry> _conFifo = new();
    private readonly Queue<Entry> _nonFifo = new();
    private readonly CoapServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();

    public MessageDeduplicator(CoapServerOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
    }

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

    /// <summary>Records a new message id, or says it is a duplicate (and returns the cached response if finished).</summary>
    public DedupState Lookup(TPeer peer, ushort messageId, bool confirmable, out byte[]? cachedResponse)
    {
        cachedResponse = null;
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            Expire(now);
            if (_entries.TryGetValue((peer, messageId), out var existing))
            {
                cachedResponse = existing.Response;
                return existing.Completed ? DedupState.Completed : DedupState.InProgress;
            }
            var lifetime = confirmable ? _options.ExchangeLifetime : _options.NonLifetime;
            var entry = new Entry(peer, messageId, now, now + (long)(lifetime.TotalSeconds * _time.TimestampFrequency));
            _entries[(peer, messageId)] = entry;
            (confirmable ? _conFifo : _nonFifo).Enqueue(entry);
            if (!_perPeer.TryGetValue(peer, out var mine))
            {
                mine = new Queue<Entry>();
                _perPeer[peer] = mine;
            }
            mine.Enqueue(entry);
            while (mine.Count > _options.MaxDedupEntriesPerPeer)
            {
                Evict(mine.Dequeue());
            }
            while (_entries.Count > _options.MaxDedupEntries && TryOldest(out var oldest))
            {
                Evict(oldest);
            }
            return DedupState.New;
        }
    }

    /// <summary>Stores the response sent for (peer, message id) (null: nothing was sent, e.g. a NON without response).</summary>
    public void Complete(TPeer peer, ushort messageId, byte[]? response)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue((peer, messageId), out var entry))
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
            if (_entries.Remove((peer, messageId), out var entry))
            {
                entry.Evicted = true;
            }
        }
    }

    private void Expire(long now)
    {
        Expire(_conFifo, now);
        Expire(_nonFifo, now);
    }

    private void Expire(Queue<Entry> fifo, long now)
    {
        while (fifo.Count > 0 && (fifo.Peek().ExpiresAt <= now || fifo.Peek().Evicted))
        {
            Evict(fifo.Dequeue());
        }
    }

    private bool TryOldest(out Entry oldest)
    {
        while (_conFifo.Count > 0 && _conFifo.Peek().Evicted)
        {
            _conFifo.Dequeue();
        }
        while (_nonFifo.Count > 0 && _nonFifo.Peek().Evicted)
        {
            _nonFifo.Dequeue();
        }
        if (_conFifo.Count == 0 && _nonFifo.Count == 0)
        {
            oldest = null!;
            return false;
        }
        oldest = _nonFifo.Count == 0 || (_conFifo.Count > 0 && _conFifo.Peek().InsertedAt <= _nonFifo.Peek().InsertedAt)
            ? _conFifo.Dequeue()
            : _nonFifo.Dequeue();
        return true;
    }

    private void Evict(Entry entry)
    {
        if (!entry.Evicted && _entries.TryGetValue((entry.Peer, entry.MessageId), out var current) && ReferenceEquals(current, entry))
        {
            _entries.Remove((entry.Peer, entry.MessageId));
        }
        entry.Evicted = true;
        if (_perPeer.TryGetValue(entry.Peer, out var mine))
        {
            while (mine.Count > 0 && mine.Peek().Evicted)
            {
                mine.Dequeue();
            }
            if (mine.Count == 0)
            {
                _perPeer.Remove(entry.Peer);
            }
        }
    }
}
