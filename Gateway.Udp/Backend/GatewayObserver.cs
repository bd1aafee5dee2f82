namespace NHub.Gateway.Backend;

/// <summary>
/// This process's <see cref="IGatewayObserver"/>: where device and session grains push to this gateway (attached by
/// <see cref="GatewayAttachment"/>). Orleans runs one observer call at a time, so each push is handed off at once
/// instead of awaited: a downlink waiting for its relation's resume must not hold up a moved notice or another device.
/// </summary>
public sealed partial class GatewayObserver(DownlinkListener downlinks, SessionMovedListener sessions, ILogger<GatewayObserver> logger) : IGatewayObserver
{
    public Task Commands(DownlinkCommands downlink)
    {
        _ = DeliverAsync(downlink);
        return Task.CompletedTask;
    }

    public Task SessionMoved(DtlsSessionMoved moved)
    {
        sessions.OnSessionMoved(moved);
        return Task.CompletedTask;
    }

    private async Task DeliverAsync(DownlinkCommands downlink)
    {
        try
        {
            await downlinks.OnCommandsAsync(downlink);
        }
        catch (Exception ex)
        {
            // The twin still holds the commands as sent: the device's next registration or resume sends them again.
            LogDownlinkFailed(logger, ex, downlink.DeviceId);
        }
    }

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Commands pushed for {DeviceId} could not be handled here; the device gets them at its next registration")]
    private static partial void LogDownlinkFailed(ILogger logger, Exception ex, string deviceId);
}
