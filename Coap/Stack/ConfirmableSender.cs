namespace NHub.Coap.Stack;

/// <summary>How a confirmable message this server sent ended.</summary>
public enum ConfirmableOutcome
{
    Acknowledged,
    Reset,
    TimedOut,

    /// <summary>Replaced by a newer notification of the same relation (RFC 7641 §4.5.2) or cancelled by the caller.</summary>
    Cancelled,
}

/// <summary>
/// Reliability for the server's own CON messages (RFC 7252 §4.2): the first timeout is random in
/// [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR], doubling at each of MAX_RETRANSMIT retransmissions; an ACK or RST
/// with the message id ends it. Also allocates message ids per peer (§4.4: not reused within EXCHANGE_LIFETIME).
/// </summary>
public sealed class ConfirmableSender<TPeer>
    where TPeer : notnull
{
    private sealed class Outstanding
    {
        public required TPeer Peer;
        public required ushort MessageId;
        public required byte[] Datagram;
        public required Action<ConfirmableOutcome>? OnDone;
        public ITimer? Timer;
        public TimeSpan Timeout;
        public int Retransmissions;
    }

    private readonly Dictionary<(TPeer, ushort), Outstanding> _outstanding = new();
    private readonly Dictionary<TPeer, ushort> _nextMessageId = new();
    private readonly CoapServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<TPeer, ReadOnlyMemory<byte>, bool> _send;
    private readonly Lock _gate = new();

    public ConfirmableSender(CoapServerOptions options, TimeProvider time, Func<TPeer, ReadOnlyMemory<byte>, bool> send)
    {
        _options = options;
        _time = time;
        _send = send;
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _outstanding.Count;
            }
        }
    }

    /// <summary>Retransmissions sent so far (for metrics).</summary>
    public long RetransmissionsSent => Interlocked.Read(ref _retransmissions);

    private long _retransmissions;

    /// <summary>
    /// The next message id for <paramref name="peer"/>: a per-peer counter from a random start. A counter per peer
    /// cannot repeat within 65,536 messages to that peer, far more than it receives in EXCHANGE_LIFETIME.
    /// </summary>
    public ushort NextMessageId(TPeer peer)
    {
        lock (_gate)
        {
            if (!_nextMessageId.TryGetValue(peer, out var next))
            {
                if (_nextMessageId.Count >= _options.MaxOutstandingConfirmables)
                {
                    _nextMessageId.Clear();
                }
                next = (ushort)Random.Shared.Next(0, 65536);
            }
            _nextMessageId[peer] = (ushort)(next + 1);
            return next;
        }
    }

    /// <summary>Forgets a peer's message id counter (its session ended).</summary>
    public void ForgetPeer(TPeer peer)
    {
        lock (_gate)
        {
            _nextMessageId.Remove(peer);
        }
    }

    /// <summary>Sends <paramref name="datagram"/> (a CON carrying <paramref name="messageId"/>) and keeps retransmitting until it ends.</summary>
    public bool Send(TPeer peer, ushort messageId, byte[] datagram, Action<ConfirmableOutcome>? onDone)
    {
        var o = new Outstanding { Peer = peer, MessageId = messageId, Datagram = datagram, OnDone = onDone };
        var initial = _options.AckTimeout * (1 + (Random.Shared.NextDouble() * (_options.AckRandomFactor - 1)));
        lock (_gate)
        {
            if (_outstanding.Count >= _options.MaxOutstandingConfirmables || !_outstanding.TryAdd((peer, messageId), o))
            {
                return false;
            }
            o.Timeout = initial;
            o.Timer = _time.CreateTimer(OnTimerCallback, o, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        _send(peer, datagram);
        o.Timer.Change(initial, Timeout.InfiniteTimeSpan);
        return true;
    }

    /// <summary>An empty ACK arrived; true when it matched an outstanding message.</summary>
    public bool OnAcknowledgement(TPeer peer, ushort messageId) => Finish(peer, messageId, ConfirmableOutcome.Acknowledged);

    /// <summary>An RST arrived; true when it matched an outstanding message.</summary>
    public bool OnReset(TPeer peer, ushort messageId) => Finish(peer, messageId, ConfirmableOutcome.Reset);

    public bool Cancel(TPeer peer, ushort messageId) => Finish(peer, messageId, ConfirmableOutcome.Cancelled);

    /// <summary>Cancels everything outstanding to a peer (its session ended).</summary>
    public void CancelPeer(TPeer peer)
    {
        List<ushort>? ids = null;
        lock (_gate)
        {
            foreach (var key in _outstanding.Keys)
            {
                if (EqualityComparer<TPeer>.Default.Equals(key.Item1, peer))
                {
                    (ids ??= []).Add(key.Item2);
                }
            }
        }
        foreach (var id in ids ?? [])
        {
            Finish(peer, id, ConfirmableOutcome.Cancelled);
        }
        ForgetPeer(peer);
    }

    private bool Finish(TPeer peer, ushort messageId, ConfirmableOutcome outcome)
    {
        Outstanding? o;
        lock (_gate)
        {
            if (!_outstanding.Remove((peer, messageId), out o))
            {
                return false;
            }
        }
        o.Timer?.Dispose();
        o.OnDone?.Invoke(outcome);
        return true;
    }

    private void OnTimerCallback(object? state) => OnTimeout((Outstanding)state!);

    private void OnTimeout(Outstanding o)
    {
        lock (_gate)
        {
            if (!_outstanding.TryGetValue((o.Peer, o.MessageId), out var current) || !ReferenceEquals(current, o))
            {
                return;
            }
            if (o.Retransmissions >= _options.MaxRetransmit)
            {
                _outstanding.Remove((o.Peer, o.MessageId));
            }
            else
            {
                o.Retransmissions++;
                o.Timeout *= 2;
                Interlocked.Increment(ref _retransmissions);
                _send(o.Peer, o.Datagram);
                o.Timer!.Change(o.Timeout, Timeout.InfiniteTimeSpan);
                return;
            }
        }
        o.Timer?.Dispose();
        o.OnDone?.Invoke(ConfirmableOutcome.TimedOut);
    }
}
