using Microsoft.Extensions.Logging;
using NHub.Grains.Services;

namespace NHub.Grains.Devices;

/// <summary>
/// The device's connectivity: online at its first message, offline after <see cref="DeviceOptions.OfflineAfter"/>
/// of silence. An in-memory timer fires exactly when the inactivity window ends, but it dies with the activation: a silo that stops or fails would leave its online devices
/// online for ever (until someone happens to reactivate them). While a device is online a reminder, stored with the
/// cluster's reminders (PostgreSQL in production), ticks every <see cref="DeviceOptions.OfflineCheckPeriod"/>: it
/// reactivates the twin on a live silo, whose activation re-arms the timer and re-evaluates from last_seen. The
/// reminder is written only on online/offline transitions, never per message.
/// </summary>
public sealed partial class DeviceGrain
{
    private const string OfflineWatchReminder = "offline-watch";

    private IGrainTimer? _offlineTimer;
    private DateTimeOffset _lastSeenPersisted;

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

    /// <summary>Any message from the device: online at the first one; last_seen persisted on transitions and periodically.</summary>
    private async Task MarkSeenAsync(string peerAddress, DeviceTransport transport, DateTimeOffset at)
    {
        var s = state.State;
        var now = time.GetUtcNow();
        var seen = at > now ? now : at;
        s.LastSeen = seen;
        s.LastPeerAddress = peerAddress;
        s.LastTransport = transport;
        if (!s.Online)
        {
            s.Online = true;
            await PersistConnectivityAsync(now);
            await events.PublishAsync(new DeviceEvent(DeviceId, DeviceEventTypes.Online, seen,
                new Dictionary<string, object?> { ["peer"] = peerAddress, ["transport"] = transport.ToString().ToLowerInvariant() }));
            ArmOfflineTimer(now);
            await StartOfflineWatchAsync();
        }
        else if (now - _lastSeenPersisted >= _options.LastSeenPersistInterval)
        {
            await PersistConnectivityAsync(now);
        }
    }

    private async Task PersistConnectivityAsync(DateTimeOffset now)
    {
        try
        {
            await state.WriteStateAsync();
            _lastSeenPersisted = now;
            await registry.SetConnectivityAsync(DeviceId, state.State.Online, state.State.LastSeen, state.State.LastTransport, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // Connectivity is advisory: a storage hiccup must not fail the telemetry that is being accepted.
            LogConnectivityPersistFailed(logger, ex, DeviceId);
        }
    }

    /// <summary>While online, a timer (which keeps the activation alive) turns the device offline after the inactivity window.</summary>
    private void ArmOfflineTimer(DateTimeOffset now)
    {
        var lastSeen = state.State.LastSeen ?? now;
        var due = lastSeen + _options.OfflineAfter - now;
        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }
        if (_offlineTimer is null)
        {
            _offlineTimer = this.RegisterGrainTimer(CheckOfflineAsync, new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
        }
        else
        {
            _offlineTimer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task CheckOfflineAsync(CancellationToken cancellationToken)
    {
        var s = state.State;
        if (!Exists || !s.Online)
        {
            return;
        }
        var now = time.GetUtcNow();
        var lastSeen = s.LastSeen ?? now;
        if (now - lastSeen < _options.OfflineAfter)
        {
            ArmOfflineTimer(now);
            return;
        }
        s.Online = false;
        _offlineTimer?.Dispose();
        _offlineTimer = null;
        await PersistConnectivityAsync(now);
        await StopOfflineWatchAsync();
        await events.PublishAsync(new DeviceEvent(DeviceId, DeviceEventTypes.Offline, now,
            new Dictionary<string, object?> { ["last_seen"] = lastSeen }));
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Could not persist connectivity of device {DeviceId}")]
    private static partial void LogConnectivityPersistFailed(ILogger logger, Exception ex, string deviceId);
}
