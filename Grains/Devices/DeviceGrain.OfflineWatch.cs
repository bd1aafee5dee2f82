using Microsoft.Extensions.Logging;

namespace NHub.Grains.Devices;

/// <summary>
/// The durable half of offline detection. The in-memory timer (DeviceGrain.Telemetry) fires exactly when the
/// inactivity window ends, but it dies with the activation: a silo that stops or fails would leave its online devices
/// online for ever (until someone happens to reactivate them). While a device is online a reminder, stored with the
/// cluster's reminders (PostgreSQL in production), ticks every <see cref="DeviceOptions.OfflineCheckPeriod"/>: it
/// reactivates the twin on a live silo, whose activation re-arms the timer and re-evaluates from last_seen. The
/// reminder is written only on online/offline transitions, never per message.
/// </summary>
public sealed partial class DeviceGrain
{
    private const string OfflineWatchReminder = "offline-watch";

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != OfflineWatchReminder)
        {
            return;
        }
        if (!Exists || !state.State.Online)
        {
            await StopOfflineWatchAsync();
            return;
        }
        await CheckOfflineAsync(CancellationToken.None);
    }

    private TimeSpan OfflineWatchPeriod
    {
        get
        {
            var minimum = reminderOptions.Value.MinimumReminderPeriod;
            return _options.OfflineCheckPeriod < minimum ? minimum : _options.OfflineCheckPeriod;
        }
    }

    private async Task StartOfflineWatchAsync()
    {
        try
        {
            var period = OfflineWatchPeriod;
            await this.RegisterOrUpdateReminder(OfflineWatchReminder, period, period);
        }
        catch (Exception ex)
        {
            // The timer still turns the device offline while this activation lives; only the failover backstop is missing.
            LogOfflineWatchFailed(logger, ex, DeviceId, "register");
        }
    }

    private async Task StopOfflineWatchAsync()
    {
        try
        {
            if (await this.GetReminder(OfflineWatchReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        catch (Exception ex)
        {
            // A leftover reminder is harmless: its next tick finds the device offline and unregisters it.
            LogOfflineWatchFailed(logger, ex, DeviceId, "unregister");
        }
    }

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Could not {Action} the offline-watch reminder of device {DeviceId}")]
    private static partial void LogOfflineWatchFailed(ILogger logger, Exception ex, string deviceId, string action);
}
