using System.Diagnostics.Metrics;
using NHub.Coap;
using NHub.Coap.Stack;
using NHub.Gateway.Tests.Support;

namespace NHub.Gateway.Tests.Coap;

/// <summary>nhub.coap.requests.in_progress and .waiting: what the dashboard shows of the admission bound.</summary>
public sealed class RequestGaugesTests
{
    [Fact]
    public void The_gauges_show_requests_running_and_waiting_per_transport()
    {
        using var meters = new TestMeterFactory();
        var metrics = new GatewayMetrics(meters, "dtls");
        var backend = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var router = new CoapRouter<string>().Map(CoapCode.Post, "/telemetry", _ => new ValueTask<CoapResponse>(backend.Task));
        using var server = new CoapServer<string>(new CoapServerOptions { MaxRequestsInProgress = 2 }, router, (_, _) => true, TimeProvider.System, metrics,
            describePeer: p => p);
        metrics.Watch(server);

        for (var i = 0; i < 5; i++)
        {
            var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = 1, Token = new byte[] { 1 } }
                .SetUriPath("/telemetry");
            server.OnDatagram($"meter-{i}", CoapSerializer.ToArray(request));
        }

        var gauges = Read(meters);
        Assert.Equal(2, gauges["nhub.coap.requests.in_progress{transport=dtls}"]);
        Assert.Equal(3, gauges["nhub.coap.requests.waiting{transport=dtls}"]);
        backend.SetResult(new CoapResponse(CoapCode.Created));
    }

    private static Dictionary<string, int> Read(TestMeterFactory meters)
    {
        var values = new Dictionary<string, int>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name.StartsWith("nhub.coap.requests.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
            values[$"{instrument.Name}{{{string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}"))}}}"] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
