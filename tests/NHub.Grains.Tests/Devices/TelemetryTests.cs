using System.Text;
using NHub.Grains.Services;

namespace NHub.Grains.Tests.Devices;

/// <summary>DeviceGrain.Telemetry: accepted messages go to the publisher and the twin's bounded recent buffer.</summary>
[Collection(GrainsCluster.Name)]
public sealed class TelemetryTests(GrainsClusterFixture cluster)
{
    private TelemetryReport Report(string json, string exchange) =>
        new(50, Encoding.UTF8.GetBytes(json), cluster.Time.GetUtcNow(), exchange, DeviceTransport.Coap, "10.0.0.7:40000");

    private static IEnumerable<string> Payloads(IReadOnlyList<TelemetryEntry> entries) =>
        entries.Select(e => Encoding.UTF8.GetString(e.Payload));

    [Fact]
    public async Task Accepted_telemetry_is_kept_newest_first_in_the_recent_buffer()
    {
        var device = await cluster.ProvisionAsync("tel-buffer");
        var first = Report("{\"t\":23.5}", "p/1");
        Assert.Equal(new TelemetryResult(TelemetryOutcome.Accepted), await device.ReportTelemetry(first));
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TelemetryOutcome.Accepted, (await device.ReportTelemetry(Report("{\"t\":24.0}", "p/2"))).Outcome);

        var recent = (await device.GetRecentTelemetry(10))!;
        Assert.Equal(["{\"t\":24.0}", "{\"t\":23.5}"], Payloads(recent));
        Assert.Equal(first.ReceivedAt, recent[1].ReceivedAt);
        Assert.Equal(50, recent[1].ContentFormat);
        Assert.Equal(DeviceTransport.Coap, recent[1].Transport);
        Assert.Equal(["{\"t\":24.0}"], Payloads((await device.GetRecentTelemetry(1))!));
    }

    [Fact]
    public async Task The_recent_buffer_keeps_only_the_newest_messages_up_to_its_capacity()
    {
        var device = await cluster.ProvisionAsync("tel-capacity");
        for (var i = 0; i < GrainsClusterFixture.RecentTelemetryCapacity + 3; i++)
        {
            await device.ReportTelemetry(Report($"{{\"n\":{i}}}", $"p/{i}"));
        }

        var recent = (await device.GetRecentTelemetry(100))!;
        var capacity = GrainsClusterFixture.RecentTelemetryCapacity;
        Assert.Equal(Enumerable.Range(3, capacity).Reverse().Select(i => $"{{\"n\":{i}}}"), Payloads(recent));
    }

    [Fact]
    public async Task A_duplicate_acknowledged_by_the_publisher_is_accepted_but_not_buffered_twice()
    {
        var device = await cluster.ProvisionAsync("tel-dup");
        await device.ReportTelemetry(Report("{\"t\":1}", "peer-a/mid-17"));
        // The device retransmits (its ACK was lost): same exchange, the publisher reports a duplicate.
        var again = await device.ReportTelemetry(Report("{\"t\":1}", "peer-a/mid-17"));
        await device.ReportTelemetry(Report("{\"t\":2}", "peer-a/mid-18"));

        Assert.Equal(TelemetryOutcome.Accepted, again.Outcome);
        Assert.True(again.Duplicate);
        Assert.Equal(["{\"t\":2}", "{\"t\":1}"], Payloads((await device.GetRecentTelemetry(10))!));
    }

    [Fact]
    public async Task Telemetry_from_an_unknown_device_is_refused_and_leaves_no_twin()
    {
        var nobody = cluster.Grains.GetGrain<IDeviceGrain>("tel-nobody");
        var result = await nobody.ReportTelemetry(Report("{}", "y/1"));

        Assert.Equal(TelemetryOutcome.UnknownDevice, result.Outcome);
        Assert.Null(await nobody.GetRecentTelemetry(10));
        Assert.Null(await nobody.GetTwin());
        Assert.Empty(cluster.Events.Of("tel-nobody"));
    }

    [Fact]
    public async Task A_receive_time_ahead_of_the_silo_clock_is_not_taken_as_last_seen()
    {
        var device = await cluster.ProvisionAsync("tel-future");
        var now = cluster.Time.GetUtcNow();
        await device.ReportTelemetry(Report("{}", "f/1") with { ReceivedAt = now.AddHours(1) });

        Assert.Equal(now, (await device.GetTwin())!.Connectivity.LastSeen);
    }
}
