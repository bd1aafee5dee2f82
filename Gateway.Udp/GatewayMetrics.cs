using System.Diagnostics.Metrics;

namespace NHub.Gateway;

/// <summary>CoAP-layer metrics on the platform's "NHub" meter, tagged by transport.</summary>
public sealed class GatewayMetrics : ICoapServerObserver
{
    private readonly Counter<long> _requests;
    private readonly Counter<long> _responses;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _reused;
    private readonly Histogram<double> _duration;
    private readonly KeyValuePair<string, object?> _transport;
    private readonly Meter _meter;

    public GatewayMetrics(IMeterFactory meterFactory, string transport)
    {
        var meter = _meter = meterFactory.Create("NHub");
        _transport = new("transport", transport);
        _requests = meter.CreateCounter<long>("nhub.coap.requests", "{request}", "CoAP requests by method");
        _responses = meter.CreateCounter<long>("nhub.coap.responses", "{response}", "CoAP responses by code");
        _dropped = meter.CreateCounter<long>("nhub.coap.messages.dropped", "{message}", "CoAP messages dropped, by reason");
        _duplicates = meter.CreateCounter<long>("nhub.coap.duplicates", "{message}", "Retransmitted requests answered from the de-duplication cache");
        _reused = meter.CreateCounter<long>("nhub.coap.message_ids.reused", "{message}",
            "Requests that reused a remembered Message ID with other content (a device that restarted its counter), processed as new");
        _duration = meter.CreateHistogram<double>("nhub.coap.request.duration", "ms", "Time from request to response");
    }

    /// <summary>
    /// Gauges of <paramref name="server"/>'s requests not answered yet: in progress (handlers running) and waiting for
    /// one of Gateway:Coap:MaxRequestsInProgress (docs/request-admission.md). A waiting line that stays long means the
    /// backend is the limit; its overflow is <c>nhub.coap.messages.dropped{reason=overloaded}</c>.
    /// </summary>
    public void Watch<TPeer>(CoapServer<TPeer> server)
        where TPeer : notnull
    {
        _meter.CreateObservableUpDownCounter<int>("nhub.coap.requests.in_progress", () => new Measurement<int>(server.InFlight - server.Waiting, _transport),
            "{request}", "CoAP requests whose handler is running");
        _meter.CreateObservableUpDownCounter<int>("nhub.coap.requests.waiting", () => new Measurement<int>(server.Waiting, _transport),
            "{request}", "CoAP requests waiting for a slot (Gateway:Coap:MaxRequestsInProgress)");
    }

    public void Dropped(string reason) => _dropped.Add(1, _transport, new("reason", reason));

    public void Request(CoapCode method) => _requests.Add(1, _transport, new("method", method.ToString()));

    public void Response(CoapCode code, double milliseconds)
    {
        _responses.Add(1, _transport, new("code", code.ToString()));
        _duration.Record(milliseconds, _transport);
    }

    public void DuplicateAnswered() => _duplicates.Add(1, _transport);

    public void MessageIdReused() => _reused.Add(1, _transport);
}
