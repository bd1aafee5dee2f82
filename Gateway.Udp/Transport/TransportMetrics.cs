using System.Diagnostics.Metrics;

namespace NHub.Gateway.Transport;

/// <summary>Datagram counters of one transport, on the platform's "NHub" meter, tagged by transport.</summary>
internal sealed class TransportMetrics
{
    public TransportMetrics(IMeterFactory meterFactory, string transport)
    {
        var meter = meterFactory.Create("NHub");
        var tag = new KeyValuePair<string, object?>("transport", transport);
        Received = new TaggedCounter(meter.CreateCounter<long>("nhub.transport.datagrams.received", "{datagram}", "Datagrams received"), tag);
        Sent = new TaggedCounter(meter.CreateCounter<long>("nhub.transport.datagrams.sent", "{datagram}", "Datagrams sent"), tag);
        Dropped = new TaggedCounter(meter.CreateCounter<long>("nhub.transport.datagrams.dropped", "{datagram}", "Datagrams dropped, by reason"), tag);
    }

    public TaggedCounter Received { get; }
    public TaggedCounter Sent { get; }
    public TaggedCounter Dropped { get; }
}

/// <summary>A counter that always carries the transport tag.</summary>
internal readonly struct TaggedCounter(Counter<long> counter, KeyValuePair<string, object?> tag)
{
    public void Add(long value) => counter.Add(value, tag);

    public void Add(long value, KeyValuePair<string, object?> extra) => counter.Add(value, tag, extra);
}
