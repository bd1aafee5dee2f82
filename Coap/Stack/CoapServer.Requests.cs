using System.Diagnostics;

namespace NHub.Coap.Stack;

public sealed partial class CoapServer<TPeer>
{
    // clock: the request's §5.2.2 clock if it was started on arrival (a request that probably waits for a slot).
    private async Task ProcessAsync(TPeer peer, CoapMessage request, RouteMatch<TPeer> match, ulong fingerprint, long started,
        SeparateResponseTimer<TPeer>.Pending? clock)
    {
        try
        {
            // Started here, inside the async method, so Activity.Current flows into the handler (and its grain call)
            // and is restored for the caller's receive loop when this method first yields.
            using var activity = StartExchangeActivity(request, match);
            var confirmable = request.Type == CoapMessageType.Confirmable;
            var pending = clock;
            CoapMessage response;
            Action<ConfirmableOutcome>? onDelivery = null;
            try
            {
                var handling = HandleAsync(peer, request, match, fingerprint);
                if (confirmable && pending is null && !handling.IsCompleted && _separateResponses is { } timer)
                {
                    // §5.2.2: if the deadline passes first, the timer acknowledges now so the client stops
                    // retransmitting, and the response follows as a CON.
                    pending = timer.Start(peer, request.MessageId, fingerprint);
                }
                (response, onDelivery) = await handling.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                response = ToMessage(request, CoapResponse.Text(CoapCode.InternalServerError, "internal error: " + ex.GetType().Name));
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
                if (!match.Inline)
                {
                    _limiter.Exit(_requestLimitKey(peer));
                }
            }

            // Decided once, for an answer and for an error alike: after the empty ACK went out, the client ignores a
            // second ACK, so whatever the answer is must come as a CON of its own (§5.2.2).
            var separate = pending is not null && SeparateResponseTimer<TPeer>.AnswerIsSeparate(pending);
            if (confirmable && onDelivery is not null && !separate)
            {
                // The handler needs to know the response arrived: answer separately so the client ACKs it (§5.2.2).
                var ack = EmptyMessage(CoapMessageType.Acknowledgement, request.MessageId);
                _send(peer, ack);
                Deduplicator.Complete(peer, request.MessageId, fingerprint, ack);
                separate = true;
            }
            if (separate)
            {
                response.Type = CoapMessageType.Confirmable;
                response.MessageId = Confirmables.NextMessageId(peer);
                var relation = response.Observe is not null ? Observers.Find(peer, response.Token.Span) : null;
                var delivery = onDelivery;
                var sent = Confirmables.Send(peer, response.MessageId, CoapSerializer.ToArray(response), outcome =>
                {
                    if (relation is not null && outcome is ConfirmableOutcome.Reset or ConfirmableOutcome.TimedOut)
                    {
                        Observers.Remove(relation, outcome == ConfirmableOutcome.Reset ? RelationEndReason.Reset : RelationEndReason.NotificationFailed);
                    }
                    delivery?.Invoke(outcome);
                });
                if (!sent)
                {
                    delivery?.Invoke(ConfirmableOutcome.Cancelled);
                }
            }
            else if (request.SuppressesResponse(response.Code))
            {
                // RFC 7967 §2.1: the client asked not to get this class of response. A CON is still acknowledged (empty
                // ACK, §4.2); for a NON nothing is sent. Either way a duplicate is answered the same from the cache.
                var ack = confirmable ? EmptyMessage(CoapMessageType.Acknowledgement, request.MessageId) : null;
                if (ack is not null)
                {
                    _send(peer, ack);
                }
                Deduplicator.Complete(peer, request.MessageId, fingerprint, ack);
                onDelivery?.Invoke(ConfirmableOutcome.Cancelled);
            }
            else
            {
                Answer(peer, request, response, fingerprint);
                onDelivery?.Invoke(ConfirmableOutcome.Acknowledged);
            }
            _observer?.Response(response.Code, _time.GetElapsedTime(started).TotalMilliseconds);
            if (activity is not null)
            {
                activity.SetTag(CoapExchangeTracing.ResponseCodeTag, response.Code.ToString());
                if (response.Code.IsServerError)
                {
                    activity.SetStatus(ActivityStatusCode.Error);
                }
            }
        }
        finally
        {
            if (!match.Inline)
            {
                // After the answer went out: the slot passes to the oldest waiting request (RequestAdmission.cs).
                _admission.Release();
            }
        }
    }

    /// <summary>The exchange's span, or null (nothing allocated) when tracing is off or nobody listens.</summary>
    private Activity? StartExchangeActivity(CoapMessage request, RouteMatch<TPeer> match)
    {
        var tracing = _tracing;
        if (tracing is null || !tracing.Source.HasListeners())
        {
            return null;
        }
        var activity = tracing.Source.StartActivity(CoapExchangeTracing.ActivityName, ActivityKind.Server);
        if (activity is null || !activity.IsAllDataRequested)
        {
            return activity;
        }
        var method = MethodName(request.Code);
        var route = match.Status == RouteStatus.NotFound || string.IsNullOrEmpty(match.Template) ? null : match.Template;
        activity.DisplayName = route is null ? method : method + " " + route;
        activity.SetTag(CoapExchangeTracing.MethodTag, method);
        if (route is not null)
        {
            activity.SetTag(CoapExchangeTracing.RouteTag, route);
        }
        activity.SetTag(CoapExchangeTracing.TransportTag, tracing.Transport);
        return activity;
    }

    /// <summary>The response to a request (type and message id are set by the caller) and the handler's delivery callback.</summary>
    private async ValueTask<(CoapMessage Response, Action<ConfirmableOutcome>? OnDelivery)> HandleAsync(TPeer peer, CoapMessage request, RouteMatch<TPeer> match, ulong fingerprint)
    {
        if (CoapParser.FindBadCriticalOption(request) is { } bad)
        {
            // §5.4.1: an unrecognized (or malformed) critical option in a request is answered 4.02 Bad Option.
            return (ToMessage(request, CoapResponse.Text(CoapCode.BadOption, $"unsupported or malformed critical option {bad}")), null);
        }
        if (request.TryGetBlock(CoapOptionNumber.Block2, out _, out var badBlock2) is false && badBlock2)
        {
            return (ToMessage(request, CoapResponse.Text(CoapCode.BadRequest, "invalid Block2 option (RFC 7959 §2.2)")), null);
        }

        // Block-wise request bodies (RFC 7959 §2.5).
        var body = request.Payload;
        BlockOption? block1Echo = null;
        if (request.TryGetBlock(CoapOptionNumber.Block1, out var block1, out var badBlock1))
        {
            var result = Blockwise.AddBlock1(peer, RequestUri(request), block1, request.Size1, request.Payload.Span);
            switch (result.Status)
            {
                case Block1Status.Continue:
                    return (ToMessage(request, new CoapResponse(CoapCode.Continue), result.Echo), null);
                case Block1Status.Incomplete:
                    return (ToMessage(request, CoapResponse.Text(CoapCode.RequestEntityIncomplete, "blocks out of order or transfer not started (RFC 7959 §2.5)")), null);
                case Block1Status.TooLarge:
                    var tooLarge = ToMessage(request, CoapResponse.Text(CoapCode.RequestEntityTooLarge, $"request body larger than {_options.MaxBodySize} bytes"));
                    tooLarge.Size1 = (uint)_options.MaxBodySize;
                    return (tooLarge, null);
                case Block1Status.Busy:
                    var busy = ToMessage(request, CoapResponse.Text(CoapCode.ServiceUnavailable, "too many block-wise transfers in progress"));
                    busy.MaxAge = 5;
                    return (busy, null);
            }
            body = result.Body;
            block1Echo = result.Echo;
        }
        else if (badBlock1)
        {
            return (ToMessage(request, CoapResponse.Text(CoapCode.BadRequest, "invalid Block1 option (RFC 7959 §2.2)")), null);
        }
        else if (request.Payload.Length > _options.MaxBodySize)
        {
            var tooLarge = ToMessage(request, CoapResponse.Text(CoapCode.RequestEntityTooLarge, $"request body larger than {_options.MaxBodySize} bytes"));
            tooLarge.Size1 = (uint)_options.MaxBodySize;
            return (tooLarge, null);
        }

        if (match.Status == RouteStatus.NotFound)
        {
            return (ToMessage(request, CoapResponse.Text(CoapCode.NotFound, "no such resource")), null);
        }
        if (match.Status == RouteStatus.MethodNotAllowed)
        {
            return (ToMessage(request, CoapResponse.Text(CoapCode.MethodNotAllowed, $"{MethodName(request.Code)} is not allowed on {match.Template}")), null);
        }

        // Observe (RFC 7641 §3.1, §3.6): Observe 0 registers; a GET without Observe, or Observe 1, cancels this
        // client's relation on the resource (the device guide: "send a GET without the Observe option").
        var observe = request.Observe;
        var registering = request.Code == CoapCode.Get && observe == 0;
        // The path string is only needed when a relation may exist or be created.
        var mayHaveRelations = Observers.Count > 0;
        var path = registering || mayHaveRelations ? request.GetUriPath() : "";
        if (request.Code == CoapCode.Get && !registering && mayHaveRelations)
        {
            foreach (var relation in Observers.ForResource(path))
            {
                if (EqualityComparer<TPeer>.Default.Equals(relation.Peer, peer))
                {
                    Observers.Remove(relation, RelationEndReason.Deregistered);
                }
            }
        }

        var context = new CoapRequestContext<TPeer>
        {
            Peer = peer,
            Request = request,
            Body = body,
            RouteValues = match.Values,
            IsObserveRegistration = registering,
            DescribePeer = _describePeer,
            Fingerprint = fingerprint,
            Sequence = _deduplicate ? 0 : Interlocked.Increment(ref _requestSequence),
        };
        var handled = await match.Handler!(context).ConfigureAwait(false);

        uint? sequence = null;
        if (registering && handled.Observe && handled.Code.IsSuccess)
        {
            var relation = Observers.Register(peer, request.Token.Span, path, request.Accept);
            if (relation is not null)
            {
                relation.State = handled.ObserveState;
                sequence = Observers.CurrentSequence(relation);
            }
            handled.OnObserveRegistered?.Invoke(relation is not null);
        }
        return (ToMessage(request, handled, block1Echo, sequence), handled.OnDelivery);
    }

    /// <summary>Builds the response message: token, options, and the Block2 slice when the payload needs it.</summary>
    private CoapMessage ToMessage(CoapMessage request, CoapResponse r, BlockOption? block1Echo = null, uint? observeSequence = null)
    {
        var m = new CoapMessage { Code = r.Code, Token = request.Token };
        if (r.ContentFormat is { } cf)
        {
            m.ContentFormat = cf;
        }
        if (r.MaxAge is { } maxAge)
        {
            m.MaxAge = maxAge;
        }
        if (!r.ETag.IsEmpty)
        {
            m.AddOption(new CoapOption(CoapOptionNumber.ETag, r.ETag));
        }
        if (observeSequence is { } seq)
        {
            m.Observe = seq;
        }
        if (block1Echo is { } b1)
        {
            m.Block1 = b1;
        }
        var payload = r.Payload;
        var requestedBlock2 = request.Block2;
        if (r.Code.IsSuccess && (requestedBlock2 is not null || Blockwise.NeedsBlock2(payload.Length)))
        {
            if (!Blockwise.TrySliceBlock2(payload, requestedBlock2, out var block2, out var slice))
            {
                return ToMessage(request, CoapResponse.Text(CoapCode.BadOption, $"Block2 starts past the end of the {payload.Length}-byte representation"));
            }
            m.Block2 = block2;
            // RFC 7959 §4: Size2 tells the total size, with the first block or when the client asked (Size2: 0).
            if (block2.Number == 0 || request.HasOption(CoapOptionNumber.Size2))
            {
                m.Size2 = (uint)payload.Length;
            }
            payload = slice;
        }
        m.Payload = payload;
        return m;
    }

    /// <summary>Block1 transfers are matched by endpoint and request URI (RFC 7959 §2.5): path and query.</summary>
    private static string RequestUri(CoapMessage request)
    {
        var uri = request.GetUriPath();
        foreach (var o in request.Options)
        {
            if (o.Number == CoapOptionNumber.UriQuery)
            {
                uri += "?" + o.GetString();
            }
        }
        return uri;
    }

    private static string MethodName(CoapCode code) => code.Value switch
    {
        1 => "GET",
        2 => "POST",
        3 => "PUT",
        4 => "DELETE",
        5 => "FETCH",
        6 => "PATCH",
        7 => "iPATCH",
        _ => code.ToString(),
    };
}
