using Microsoft.Extensions.Logging;
using NHub.Grains.Services;

namespace NHub.Grains.Devices;

public sealed partial class DeviceGrain
{
    private readonly Queue<TelemetryEntry> _recent = new();
    private IGrainTimer? _offlineTimer;
    private DateTimeOffset _lastSeenPersisted;

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
            await registry.SetConnectivityAsync(DeviceId, state.State.Online, state.State.LastSeen, CancellationToken.None);
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
