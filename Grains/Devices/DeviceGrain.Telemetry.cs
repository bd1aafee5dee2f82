using NHub.Grains.Services;

namespace NHub.Grains.Devices;

public sealed partial class DeviceGrain
{
    private readonly Queue<TelemetryEntry> _recent = new();

    public async Task<TelemetryResult> ReportTelemetry(TelemetryReport report)
    {
        if (!Exists)
        {
            return new TelemetryResult(TelemetryOutcome.UnknownDevice, Detail: $"device '{DeviceId}' is not provisioned");
        }
        await MarkSeenAsync(report.PeerAddress, report.Transport, report.ReceivedAt);
        var result = await telemetry.PublishAsync(DeviceId, report, CancellationToken.None);
        if (result.Outcome == TelemetryOutcome.Accepted && !result.Duplicate)
        {
            _recent.Enqueue(new TelemetryEntry(report.ReceivedAt, report.ContentFormat, report.Payload, report.Transport));
            while (_recent.Count > _options.RecentTelemetryCapacity)
            {
                _recent.Dequeue();
            }
        }
        return result;
    }

    public Task<IReadOnlyList<TelemetryEntry>?> GetRecentTelemetry(int limit)
    {
        if (!Exists)
        {
            return Task.FromResult<IReadOnlyList<TelemetryEntry>?>(null);
        }
        var all = _recent.ToArray();
        var count = Math.Clamp(limit, 0, all.Length);
        var newestFirst = new TelemetryEntry[count];
        for (var i = 0; i < count; i++)
        {
            newestFirst[i] = all[all.Length - 1 - i];
        }
        return Task.FromResult<IReadOnlyList<TelemetryEntry>?>(newestFirst);
    }
}
