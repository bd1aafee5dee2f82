using NHub.Grains.Services;

namespace NHub.Grains.Devices;

public sealed partial class DeviceGrain
{
    public async Task<bool> ReportFirmwareProgress(FirmwareBlockReport report)
    {
        if (!Exists)
        {
            return false;
        }
        var current = state.State.Firmware;
        var restarted = current is null
            || !string.Equals(current.Version, report.Version, StringComparison.Ordinal)
            || (current.CompletedAt is not null && !report.LastBlockServed && report.At > current.CompletedAt);
        var progress = restarted
            ? new FirmwareProgress(report.Version, 0, 0, report.TotalBytes, report.At, null, report.At)
            : current!;
        var completedNow = report.LastBlockServed && progress.CompletedAt is null;
        progress = progress with
        {
            BlocksServed = progress.BlocksServed + report.BlocksServed,
            BytesServed = progress.BytesServed + report.BytesServed,
            TotalBytes = report.TotalBytes,
            LastBlockAt = report.At,
            CompletedAt = completedNow ? report.At : progress.CompletedAt,
        };
        state.State.Firmware = progress;
        await state.WriteStateAsync();
        await SyncPendingWorkAsync();
        if (completedNow)
        {
            await events.PublishAsync(new DeviceEvent(DeviceId, DeviceEventTypes.FirmwareCompleted, report.At,
                new Dictionary<string, object?> { ["version"] = report.Version, ["bytes"] = report.TotalBytes }));
        }
        return true;
    }

    public Task<FirmwareProgress?> GetFirmwareProgress() => Task.FromResult(Exists ? state.State.Firmware : null);
}
