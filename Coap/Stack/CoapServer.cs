namespace NHub.Coap.Stack;

/// <summary>Counters the server reports (the gateway exports them as metrics).</summary>
public interface ICoapServerObserver
{
    void Dropped(string reason);
    void Request(CoapCode method);
    void Response(CoapCode code, double milliseconds);
    void DuplicateAnswered();

    /// <summary>A message id came back with other content (a peer restarted its counter): processed as new.</summary>
    void MessageIdReused()
    {
    }
}

/// <summary>
/// The CoAP message layer over any datagram transport: matching and de-duplication, then per request Block1 →
/// Observe → handler → Block2, then reliability (the stages are drawn in Coap/README.md, "Stack"). Transport-free:
/// it is fed datagrams (<see cref="OnDatagram"/>) and sends through a delegate, so lockstep tests drive it without
/// sockets.
/// </summary>
public sealed partial class CoapServer<TPeer> : IDisposable
    where TPeer : notnull
{
    private readonly CoapServerOptions _options;
    private readonly CoapRouter<TPeer> _router;
    private readonly Func<TPeer, ReadOnlyMemory<byte>, bool> _send;
    private readonly TimeProvider _time;
    private readonly ICoapServerObserver? _observer;
    private readonly Func<TPeer, string> _describePeer;
    private readonly CoapExchangeTracing? _tracing;

    /// <summary>
    /// False under a reliable transport (RFC 8323): there are no retransmissions to recognize, and the message ids are
    /// the connection's own (<see cref="CoapConnection"/>), so nothing is remembered for §4.5.
    /// </summary>
    private readonly bool _deduplicate;

    /// <summary>Numbers requests under a reliable transport, for their <see cref="CoapRequestContext{TPeer}.ExchangeId"/>.</summary>
    private long _requestSequence;

    public CoapServer(CoapServerOptions options, CoapRouter<TPeer> router, Func<TPeer, ReadOnlyMemory<byte>, bool> send, TimeProvider time,
        ICoapServerObserver? observer = null, Func<TPeer, string>? describePeer = null, CoapExchangeTracing? tracing = null,
        Func<TPeer, string>? requestLimitKey = null, bool reliableTransport = false)
    {
        _tracing = tracing;
        _deduplicate = !reliableTransport;
        _options = options;
        _router = router;
        _send = send;
        _time = time;
        _observer = observer;
        _describePeer = describePeer ?? (p => p.ToString()!);
        Deduplicator = new MessageDeduplicator<TPeer>(options, time);
        Blockwise = new BlockwiseTransfers<TPeer>(options, time);
        Observers = new ObserveRegistry<TPeer>(options, time);
        Confirmables = new ConfirmableSender<TPeer>(options, time, send);
        _requestLimitKey = requestLimitKey ?? _describePeer;
        _limiter = new PeerRequestLimiter<string>(options.MaxRequestsInProgressPerPeer);
        _admission = new RequestAdmission<WaitingRequest>(options.MaxRequestsInProgress, options.MaxRequestsWaiting,
            w => _ = ProcessAsync(w.Peer, w.Message, w.Match, w.Fingerprint, w.Arrived, w.Separate));
        Observers.RelationEnded += OnRelationEnded;
        _separateResponses = options.SeparateResponseAfter > TimeSpan.Zero
            ? new SeparateResponseTimer<TPeer>(options.SeparateResponseAfter, time, AcknowledgeEmpty)
            : null;
    }

    /// <summary>Empty ACKs for requests whose handlers are slow (§5.2.2); null when separate responses are off.</summary>
    private readonly SeparateResponseTimer<TPeer>? _separateResponses;

    /// <summary>The deadline of a slow request passed: the empty ACK goes out and is what a retransmission gets (§4.5).</summary>
    private void AcknowledgeEmpty(SeparateResponseTimer<TPeer>.Pending pending)
    {
        var ack = EmptyMessage(CoapMessageType.Acknowledgement, pending.MessageId);
        _send(pending.Peer, ack);
        Deduplicator.Complete(pending.Peer, pending.MessageId, pending.Fingerprint, ack);
    }

    internal MessageDeduplicator<TPeer> Deduplicator { get; }
    internal BlockwiseTransfers<TPeer> Blockwise { get; }
    public ObserveRegistry<TPeer> Observers { get; }
    internal ConfirmableSender<TPeer> Confirmables { get; }

    /// <summary>Requests not answered yet: handlers running, and requests waiting for a slot (<see cref="Waiting"/>).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    private int _inFlight;

    /// <summary>
    /// Whose requests in progress are counted together: by default the peer; the host may name a wider client (the
    /// gateway: the authenticated device, so that several sessions of one device share one bound).
    /// </summary>
    private readonly PeerRequestLimiter<string> _limiter;
    private readonly Func<TPeer, string> _requestLimitKey;

    /// <summary>Asynchronous requests in progress in total, and those waiting for a slot (<see cref="RequestAdmission{TItem}"/>).</summary>
    private readonly RequestAdmission<WaitingRequest> _admission;

    /// <summary>A request on its way to a slot; <paramref name="Separate"/> is its §5.2.2 clock when started on arrival.</summary>
    private readonly record struct WaitingRequest(TPeer Peer, CoapMessage Message, RouteMatch<TPeer> Match, ulong Fingerprint, long Arrived,
        SeparateResponseTimer<TPeer>.Pending? Separate);

    /// <summary>Requests waiting for one of <see cref="CoapServerOptions.MaxRequestsInProgress"/> slots.</summary>
    public int Waiting => _admission.Waiting;

    /// <summary>
    /// One datagram from <paramref name="peer"/>. Never throws and never blocks: requests continue asynchronously.
    /// The span is copied before this returns (the transport reuses its buffer).
    /// </summary>
    public void OnDatagram(TPeer peer, ReadOnlySpan<byte> datagram)
    {
        if (!CoapParser.TryReadHeader(datagram, out var type, out var messageId))
        {
            _observer?.Dropped("not_coap");
            return;
        }
        // Fast path for empty ACK/RST (4 bytes): matched without copying or parsing.
        if (datagram.Length == 4 && datagram[1] == 0 && type is CoapMessageType.Acknowledgement or CoapMessageType.Reset)
        {
            OnEmptyAckOrReset(peer, type, messageId);
            return;
        }
        var message = new CoapMessage();
        if (Classify(peer, datagram.ToArray(), type, messageId, message))
        {
            Dispatch(peer, message, _router.Match(message), MessageFingerprint.Of(datagram));
        }
    }

    /// <summary>
    /// Serves <paramref name="datagram"/> now, on the caller's thread, if that needs no asynchronous work: empty,
    /// malformed and unexpected messages, and requests whose route was mapped with
    /// <see cref="CoapRouter{TPeer}.MapInline"/> (the response is sent before this returns). Returns false, having
    /// done nothing, for a request whose handler may be asynchronous: the caller then copies the datagram and hands
    /// it to <see cref="OnDatagram"/> off its receive loop. <paramref name="datagram"/> is only read during the call.
    /// </summary>
    public bool TryProcessInline(TPeer peer, ReadOnlyMemory<byte> datagram)
    {
        var span = datagram.Span;
        if (!CoapParser.TryReadHeader(span, out var type, out var messageId))
        {
            _observer?.Dropped("not_coap");
            return true;
        }
        if (span.Length == 4 && span[1] == 0 && type is CoapMessageType.Acknowledgement or CoapMessageType.Reset)
        {
            OnEmptyAckOrReset(peer, type, messageId);
            return true;
        }
        // One message per thread, reused: an inline request is finished before the next datagram is parsed.
        var message = t_inlineMessage ??= new CoapMessage();
        if (!Classify(peer, datagram, type, messageId, message))
        {
            return true;
        }
        var match = _router.Match(message);
        if (!match.Inline)
        {
            return false;
        }
        Dispatch(peer, message, match, MessageFingerprint.Of(span));
        return true;
    }

    [ThreadStatic]
    private static CoapMessage? t_inlineMessage;

    /// <summary>Parses and answers what is not a request (RFC 7252 §4.2, §4.3); true for a request to process.</summary>
    private bool Classify(TPeer peer, ReadOnlyMemory<byte> datagram, CoapMessageType type, ushort messageId, CoapMessage message)
    {
        var error = CoapParser.TryParse(datagram, message);
        if (error != CoapParseError.None)
        {
            // §4.2: a CON that cannot be parsed is rejected with RST; §4.3: a bad NON may be ignored; ACK/RST silently.
            if (type == CoapMessageType.Confirmable)
            {
                SendEmpty(peer, CoapMessageType.Reset, messageId);
            }
            _observer?.Dropped(MalformedReason(error));
            return false;
        }
        switch (message.Type)
        {
            case CoapMessageType.Acknowledgement or CoapMessageType.Reset:
                // A piggybacked response (ACK with a code): we never send requests, so it matches nothing (§4.2: ignore).
                if (message.Code.IsEmpty)
                {
                    OnEmptyAckOrReset(peer, message.Type, messageId);
                }
                else
                {
                    _observer?.Dropped("unexpected_response");
                }
                return false;
            case CoapMessageType.Confirmable when message.Code.IsEmpty:
                // §4.3: an empty CON is a "CoAP ping": answer RST.
                SendEmpty(peer, CoapMessageType.Reset, messageId);
                return false;
            case CoapMessageType.NonConfirmable when message.Code.IsEmpty:
                _observer?.Dropped("empty_non");
                return false;
        }
        if (!message.Code.IsRequest)
        {
            // A response in a CON/NON: we have no request outstanding it could answer (§4.2: reject a CON with RST).
            if (message.Type == CoapMessageType.Confirmable)
            {
                SendEmpty(peer, CoapMessageType.Reset, messageId);
            }
            _observer?.Dropped("unexpected_response");
            return false;
        }
        return true;
    }

    /// <summary>§4.5 de-duplication, then processing (synchronously to the end when the handler is synchronous).</summary>
    private void Dispatch(TPeer peer, CoapMessage message, RouteMatch<TPeer> match, ulong fingerprint)
    {
        var confirmable = message.Type == CoapMessageType.Confirmable;
        byte[]? cached = null;
        switch (_deduplicate ? Deduplicator.Lookup(peer, message.MessageId, confirmable, fingerprint, out cached) : DedupState.New)
        {
            case DedupState.Completed:
                _observer?.DuplicateAnswered();
                if (cached is not null)
                {
                    _send(peer, cached);
                }
                return;
            case DedupState.InProgress:
                // Still being processed: the answer (piggybacked or the separate response's empty ACK) is coming.
                _observer?.DuplicateAnswered();
                return;
            case DedupState.Reused:
                _observer?.MessageIdReused();
                break;
        }
        _observer?.Request(message.Code);
        var arrived = _time.GetTimestamp();
        if (match.Inline)
        {
            // Only asynchronous handlers can pile up work; an inline one is done before the next datagram is read.
            Interlocked.Increment(ref _inFlight);
            _ = ProcessAsync(peer, message, match, fingerprint, arrived, clock: null);
            return;
        }
        var limitKey = _requestLimitKey(peer);
        if (!_limiter.TryEnter(limitKey))
        {
            RejectTooMany(peer, message, fingerprint);
            return;
        }
        Interlocked.Increment(ref _inFlight);
        // A CON that will probably wait for a slot starts its §5.2.2 clock now, not when it runs: if the wait is long
        // the empty ACK goes out while it waits, and the client stops retransmitting into a full server.
        var separate = message.Type == CoapMessageType.Confirmable && _separateResponses is { } timer && _admission.LooksFull
            ? timer.Start(peer, message.MessageId, fingerprint)
            : null;
        switch (_admission.TryAdmit(new WaitingRequest(peer, message, match, fingerprint, arrived, separate)))
        {
            case Admission.Run:
                _ = ProcessAsync(peer, message, match, fingerprint, arrived, separate);
                break;
            case Admission.Refused:
                Interlocked.Decrement(ref _inFlight);
                _limiter.Exit(limitKey);
                RejectOverloaded(peer, message, fingerprint, separate);
                break;
        }
    }

    /// <summary>
    /// RFC 7252 §5.9.3.4: 5.03 with Max-Age when <see cref="CoapServerOptions.MaxRequestsInProgress"/> requests run
    /// and <see cref="CoapServerOptions.MaxRequestsWaiting"/> wait; remembered like any answer (§4.5).
    /// </summary>
    private void RejectOverloaded(TPeer peer, CoapMessage request, ulong fingerprint, SeparateResponseTimer<TPeer>.Pending? separate)
    {
        if (separate is not null && SeparateResponseTimer<TPeer>.AnswerIsSeparate(separate))
        {
            // The clock started an instant ago and has not passed (SeparateResponseAfter is at least a tick of the
            // deadline timer); were it otherwise, the empty ACK went out and the 5.03 is not worth a CON of its own.
            return;
        }
        var response = ToMessage(request, CoapResponse.Text(CoapCode.ServiceUnavailable, "server busy; retry after Max-Age"));
        response.MaxAge = (uint)_options.TooManyRequestsMaxAge.TotalSeconds;
        Answer(peer, request, response, fingerprint);
        _observer?.Dropped("overloaded");
        _observer?.Response(response.Code, 0);
    }

    /// <summary>
    /// RFC 8516 §3: 4.29 with Max-Age, piggybacked on the ACK of a CON (a NON gets a NON), remembered like any answer
    /// so a retransmission is answered the same. Nothing reaches a handler or the backend.
    /// </summary>
    private void RejectTooMany(TPeer peer, CoapMessage request, ulong fingerprint)
    {
        var response = ToMessage(request, CoapResponse.Text(CoapCode.TooManyRequests, "too many requests in progress; retry after Max-Age"));
        response.MaxAge = (uint)_options.TooManyRequestsMaxAge.TotalSeconds;
        Answer(peer, request, response, fingerprint);
        _observer?.Response(response.Code, 0);
    }

    /// <summary>
    /// Sends the response of a request: piggybacked on the ACK of a CON (§5.2.1), as a NON to a NON (§5.2.3), and
    /// remembers it for the request's retransmissions (§4.5).
    /// </summary>
    private void Answer(TPeer peer, CoapMessage request, CoapMessage response, ulong fingerprint)
    {
        var confirmable = request.Type == CoapMessageType.Confirmable;
        response.Type = confirmable ? CoapMessageType.Acknowledgement : CoapMessageType.NonConfirmable;
        response.MessageId = confirmable ? request.MessageId : Confirmables.NextMessageId(peer);
        var bytes = CoapSerializer.ToArray(response);
        _send(peer, bytes);
        Deduplicator.Complete(peer, request.MessageId, fingerprint, bytes);
    }

    private static string MalformedReason(CoapParseError error) => "malformed_" + error.ToString().ToLowerInvariant();

    /// <summary>Stops the retransmission and separate-response timers (outstanding confirmables are abandoned without callbacks).</summary>
    public void Dispose()
    {
        Confirmables.Dispose();
        _separateResponses?.Dispose();
    }

    /// <summary>
    /// The transport saw the peer again at a new address or after a silence: confirmable messages in flight to it
    /// (command notifications above all) go out now rather than at their next retransmission timeout.
    /// </summary>
    public int OnPeerReachable(TPeer peer) => Confirmables.RetransmitNow(peer);

    /// <summary>The peer's session ended: its relations, transfers and outstanding confirmables go with it.</summary>
    public void OnPeerClosed(TPeer peer) => ForgetPeer(peer, RelationEndReason.PeerClosed);

    /// <summary>
    /// The peer's session continues at another server: this server forgets it as on close, but its relations end with
    /// <see cref="RelationEndReason.Moved"/>, so whoever keeps them outside the server keeps them.
    /// </summary>
    public void OnPeerMoved(TPeer peer) => ForgetPeer(peer, RelationEndReason.Moved);

    private void ForgetPeer(TPeer peer, RelationEndReason reason)
    {
        Observers.RemovePeer(peer, reason);
        Blockwise.RemovePeer(peer);
        Confirmables.CancelPeer(peer);
    }

    private void OnEmptyAckOrReset(TPeer peer, CoapMessageType type, ushort messageId)
    {
        var matched = type == CoapMessageType.Acknowledgement
            ? Confirmables.OnAcknowledgement(peer, messageId)
            : Confirmables.OnReset(peer, messageId);
        if (!matched && type == CoapMessageType.Reset && Observers.FindByNonConfirmable(peer, messageId) is { } relation)
        {
            // RFC 7641 §3.6: an RST in reply to a (non-confirmable) notification cancels the relation.
            Observers.Remove(relation, RelationEndReason.Reset);
            matched = true;
        }
        if (!matched)
        {
            _observer?.Dropped(type == CoapMessageType.Acknowledgement ? "unmatched_ack" : "unmatched_rst");
        }
    }

    /// <summary>
    /// An ended relation gets no further notifications (RFC 7641 §3.6): one still waiting for NSTART or being
    /// retransmitted is cancelled (its callback sees <see cref="ConfirmableOutcome.Cancelled"/>).
    /// </summary>
    private void OnRelationEnded(ObserveRelation<TPeer> relation, RelationEndReason reason)
    {
        if (relation.InFlight is { } messageId)
        {
            Confirmables.Cancel(relation.Peer, messageId);
        }
    }

    private void SendEmpty(TPeer peer, CoapMessageType type, ushort messageId)
    {
        var bytes = new byte[] { (byte)(0x40 | ((int)type << 4)), 0, (byte)(messageId >> 8), (byte)messageId };
        _send(peer, bytes);
    }

    private static byte[] EmptyMessage(CoapMessageType type, ushort messageId) =>
        [(byte)(0x40 | ((int)type << 4)), 0, (byte)(messageId >> 8), (byte)messageId];
}
