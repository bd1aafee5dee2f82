using System.Text;
using NHub.Grains;

namespace NHub.Integration.Tests.ManagementApi;

/// <summary>The JetStream publish latency that the dashboard and the alert rules read (deploy/), as /metrics exports it.</summary>
[Collection(ManagementApiCollection.Name)]
public sealed class JetStreamMetricsTests(ManagementApiFixture api)
{
    [Fact]
    public async Task An_accepted_publish_is_counted_in_the_publish_duration_histogram_by_outcome()
    {
        var id = ApiAssert.NewDeviceId("metrics");
        using var http = api.Http();
        await http.CreateDevice(id);
        var result = await api.Grains.GetGrain<IDeviceGrain>(id).ReportTelemetry(new TelemetryReport(
            50, Encoding.UTF8.GetBytes("{}"), DateTimeOffset.UtcNow, Guid.NewGuid().ToString("N"), DeviceTransport.Coaps, "127.0.0.1:40001"));
        Assert.Equal(TelemetryOutcome.Accepted, result.Outcome);

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains(metrics.Split('\n'), line =>
            line.StartsWith("nhub_jetstream_publish_duration_milliseconds_count{", StringComparison.Ordinal) && line.Contains("outcome=\"accepted\"", StringComparison.Ordinal));
        Assert.Contains("nhub_jetstream_publish_duration_milliseconds_bucket{", metrics, StringComparison.Ordinal);
    }
}
