using NHub.Coap.Internal;

namespace NHub.Coap.Stack;

/// <summary>
/// Reliability for the server's own CON messages (RFC 7252 §4.2): the first timeout is random in
/// [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR], doubling at each of MAX_RETRANSMIT retransmissions; an ACK or RST
/// with the message id ends it (<see cref="ConfirmableOutcome"/>), and after the last timeout it has
/// <see cref="ConfirmableOutcome.TimedOut"/>.
/// <para>
/// Congestion control (§4.7): at most NSTART (<see cref="CoapServerOptions.NStart"/>) messages are outstanding per
/// peer; more wait in a per-peer FIFO of at most <see cref="CoapServerOptions.MaxQueuedConfirmablesPerPeer"/> and are
/// sent as earlier ones end. <see cref="Send"/> refuses (returns false) beyond that or beyond
/// <see cref="CoapServerOptions.MaxOutstandingConfirmables"/> in total.
/// </para>
/// All deadlines share one timer (no timer or task per message). Also allocates message ids per peer (§4.4).
/// </summary>
internal sealed class ConfirmableSender<TPeer> : IDisposable
    where TPeer : notnull
{
    private enum Stage
    {
        Waiting,
        InFlight,
        Done,
    }

    private sealed class Outstanding
    {
        public required TPeer Peer;
        public required ushort MessageId;
        public required byte[] Datagram;
        public required Action<ConfirmableOutcome>? OnDone;
        public Stage Stage;
        public TimeSpan Timeout;
        public int Retransmissions;
        public long Due;
    }

    private sealed class PeerQueue
    {
        public readonly List<Outstanding> InFlight = new(1);
        public readonly List<Outstanding> Waiting = [];
    }

    private readonly Dictionary<(TPeer, ushort), Outstanding> _outstanding = new();
    private readonly Dictionary<TPeer, PeerQueue> _peers = new();
    private readonly MessageIdAllocator<TPeer> _messageIds;
    private readonly CoapServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<TPeer, ReadOnlyMemory<byte>, bool> _send;
    private readonly DeadlineQueue<Outstanding> _deadlines;
    private readonly Lock _gate = new();
    private long _retransmissions;

    public ConfirmableSender(CoapServerOptions options, TimeProvider time, Func<TPeer, ReadOnlyMemory<byte>, bool> send)
    {
        _options = options;
        _time = time;
        _send = send;
        _messageIds = new MessageIdAllocator<TPeer>(options.MaxOutstandingConfirmables);
        _deadlines = new DeadlineQueue<Outstanding>(time, static (o, due) => o.Stage == Stage.InFlight && o.Due == due, OnTimeout);
    }

    /// <summary>Messages accepted and not yet ended (in flight or waiting for NSTART).</summary>
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

    /// <summary>Messages waiting because their peer already has NSTART in flight.</summary>
    public int Queued
    {
        get
        {
            lock (_gate)
            {
                var queued = 0;
                foreach (var peer in _peers.Values)
                {
                    queued += peer.Waiting.Count;
                }
                return queued;
            }
        }
    }

    /// <summary>Retransmissions sent so far (for metrics).</summary>
    public long RetransmissionsSent => Interlocked.Read(ref _retransmissions);

    /// <summary>The next message id for <paramref name="peer"/> (§4.4; see <see cref="MessageIdAllocator{TPeer}"/>).</summary>
    public ushort NextMessageId(TPeer peer) => _messageIds.Next(peer);

    /// <summary>Forgets a peer's message id counter (its session ended).</summary>
    public void ForgetPeer(TPeer peer) => _messageIds.Forget(peer);

    /// <summary>
    /// Sends <paramref name="datagram"/> (a CON carrying <paramref name="messageId"/>) now, or once the peer is below
    /// NSTART, and keeps retransmitting until it ends; <paramref name="onDone"/> gets the outcome (outside any lock).
    /// False when refused: a cap is reached or (peer, message id) is already outstanding.
    /// </summary>
    public bool Send(TPeer peer, ushort messageId, byte[] datagram, Action<ConfirmableOutcome>? onDone)
    {
        var o = new Outstanding { Peer = peer, MessageId = messageId, Datagram = datagram, OnDone = onDone };
        lock (_gate)
        {
            if (_outstanding.Count >= _options.MaxOutstandingConfirmables || _outstanding.ContainsKey((peer, messageId)))
            {
                return false;
            }
            if (!_peers.TryGetValue(peer, out var queue))
            {
                queue = new PeerQueue();
                _peers.Add(peer, queue);
            }
            if (queue.InFlight.Count >= Math.Max(1, _options.NStart))
            {
                if (queue.Waiting.Count >= _options.MaxQueuedConfirmablesPerPeer)
                {
                    if (queue.InFlight.Count == 0)
                    {
                        _peers.Remove(peer);
                    }
                    return false;
                }
                o.Stage = Stage.Waiting;
                queue.Waiting.Add(o);
                _outstanding.Add((peer, messageId), o);
                return true;
            }
            _outstanding.Add((peer, messageId), o);
            StartLocked(queue, o);
        }
        _send(peer, datagram);
        return true;
    }

    /// <summary>An empty ACK arrived; true when it matched a message in flight.</summary>
    public bool OnAcknowledgement(TPeer peer, ushort messageId) => Finish(peer, messageId, ConfirmableOutcome.Acknowledged);

    /// <summary>An RST arrived; true when it matched a message in flight.</summary>
    public bool OnReset(TPeer peer, ushort messageId) => Finish(peer, messageId, ConfirmableOutcome.Reset);

    /// <summary>Stops retransmitting (or never sends) a message; its callback gets <see cref="ConfirmableOutcome.Cancelled"/>.</summary>
    public bool Cancel(TPeer peer, ushort messageId) => Finish(peer, messageId, ConfirmableOutcome.Cancelled);

    /// <summary>
    /// The peer is reachable again: its session moved to a new address (DTLS Connection ID, RFC 9146) or it spoke
    /// after a silence. Every message in flight to it is sent again now instead of at its next timeout, which may be
    /// tens of seconds away after a few doublings, and its §4.2 schedule restarts from the initial timeout: the earlier
    /// transmissions may all have gone to an address the device no longer has. Returns how many were sent.
    /// </summary>
    public int RetransmitNow(TPeer peer)
    {
        List<Outstanding> resend = [];
        lock (_gate)
        {
            if (!_peers.TryGetValue(peer, out var queue) || queue.InFlight.Count == 0)
            {
                return 0;
            }
            foreach (var o in queue.InFlight)
            {
                _deadlines.Cancelled(); // the old slot goes stale: Due changes below
                o.Retransmissions = 0;
                o.Timeout = InitialTimeout();
                o.Due = _time.GetTimestamp() + ToTimestamp(o.Timeout);
                _deadlines.Schedule(o, o.Due);
                resend.Add(o);
            }
        }
        foreach (var o in resend)
        {
            Interlocked.Increment(ref _retransmissions);
            _send(o.Peer, o.Datagram);
        }
        return resend.Count;
    }

    /// <summary>Cancels everything outstanding to a peer (its session ended).</summary>
    public void CancelPeer(TPeer peer)
    {
        List<Outstanding> cancelled = [];
        lock (_gate)
        {
            if (_peers.Remove(peer, out var queue))
            {
                foreach (var o in queue.InFlight)
                {
                    _deadlines.Cancelled();
                    cancelled.Add(o);
                }
                cancelled.AddRange(queue.Waiting);
                foreach (var o in cancelled)
                {
                    o.Stage = Stage.Done;
                    _outstanding.Remove((peer, o.MessageId));
                }
            }
        }
        foreach (var o in cancelled)
        {
            o.OnDone?.Invoke(ConfirmableOutcome.Cancelled);
        }
        ForgetPeer(peer);
    }

    public void Dispose() => _deadlines.Dispose();

    private bool Finish(TPeer peer, ushort messageId, ConfirmableOutcome outcome)
    {
        Outstanding? o;
        List<Outstanding>? started;
        lock (_gate)
        {
            if (!_outstanding.TryGetValue((peer, messageId), out o))
            {
                return false;
            }
            if (o.Stage == Stage.Waiting && outcome != ConfirmableOutcome.Cancelled)
            {
                // Never sent, so an ACK/RST with its id answers something else (§4.2: ignore).
                return false;
            }
            started = EndLocked(o);
        }
        o.OnDone?.Invoke(outcome);
        SendAll(started);
        return true;
    }

    private void OnTimeout(Outstanding o)
    {
        List<Outstanding>? started = null;
        var retransmit = false;
        lock (_gate)
        {
            if (o.Stage != Stage.InFlight || !_outstanding.TryGetValue((o.Peer, o.MessageId), out var current) || !ReferenceEquals(current, o))
            {
                return;
            }
            if (o.Retransmissions < _options.MaxRetransmit)
            {
                // §4.2: "the timeout is doubled" at each retransmission.
                o.Retransmissions++;
                o.Timeout *= 2;
                o.Due = _time.GetTimestamp() + ToTimestamp(o.Timeout);
                _deadlines.Schedule(o, o.Due);
                retransmit = true;
            }
            else
            {
                started = EndLocked(o, timedOut: true);
            }
        }
        if (retransmit)
        {
            Interlocked.Increment(ref _retransmissions);
            _send(o.Peer, o.Datagram);
            return;
        }
        o.OnDone?.Invoke(ConfirmableOutcome.TimedOut);
        SendAll(started);
    }

    /// <summary>Removes <paramref name="o"/>; starts the next waiting message(s) of its peer. Returns those to send.</summary>
    private List<Outstanding>? EndLocked(Outstanding o, bool timedOut = false)
    {
        _outstanding.Remove((o.Peer, o.MessageId));
        var wasInFlight = o.Stage == Stage.InFlight;
        o.Stage = Stage.Done;
        if (!_peers.TryGetValue(o.Peer, out var queue))
        {
            return null;
        }
        if (!wasInFlight)
        {
            queue.Waiting.Remove(o);
        }
        else
        {
            queue.InFlight.Remove(o);
            if (!timedOut)
            {
                _deadlines.Cancelled();
            }
        }
        List<Outstanding>? started = null;
        while (queue.InFlight.Count < Math.Max(1, _options.NStart) && queue.Waiting.Count > 0)
        {
            var next = queue.Waiting[0];
            queue.Waiting.RemoveAt(0);
            StartLocked(queue, next);
            (started ??= []).Add(next);
        }
        if (queue.InFlight.Count == 0 && queue.Waiting.Count == 0)
        {
            _peers.Remove(o.Peer);
        }
        return started;
    }

    private void StartLocked(PeerQueue queue, Outstanding o)
    {
        o.Timeout = InitialTimeout();
        o.Stage = Stage.InFlight;
        o.Due = _time.GetTimestamp() + ToTimestamp(o.Timeout);
        queue.InFlight.Add(o);
        _deadlines.Schedule(o, o.Due);
    }

    private void SendAll(List<Outstanding>? started)
    {
        if (started is null)
        {
            return;
        }
        foreach (var o in started)
        {
            _send(o.Peer, o.Datagram);
        }
    }

    /// <summary>§4.2: the initial timeout is random in [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR].</summary>
    private TimeSpan InitialTimeout() => _options.AckTimeout * (1 + (Random.Shared.NextDouble() * (_options.AckRandomFactor - 1)));

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
