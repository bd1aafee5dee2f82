using NHub.Grains.Services;

namespace NHub.Grains.Tests;

/// <summary>
/// Records the lifecycle events the grains raise, so tests can wait for one. Events are best-effort output of the
/// grains, not the thing under test; production publishes them to NATS or the log.
/// </summary>
public sealed class RecordingDeviceEventPublisher : IDeviceEventPublisher
{
    private readonly Lock _lock = new();
    private readonly List<DeviceEvent> _events = [];
    private readonly List<(string DeviceId, string Type, TaskCompletionSource<DeviceEvent> Done)> _waiters = [];

    public ValueTask PublishAsync(DeviceEvent deviceEvent)
    {
        List<TaskCompletionSource<DeviceEvent>> done = [];
        lock (_lock)
        {
            _events.Add(deviceEvent);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var w = _waiters[i];
                if (w.DeviceId == deviceEvent.DeviceId && w.Type == deviceEvent.Type)
                {
                    done.Add(w.Done);
                    _waiters.RemoveAt(i);
                }
            }
        }
        foreach (var d in done)
        {
            d.TrySetResult(deviceEvent);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The events of one device, in the order raised.</summary>
    public IReadOnlyList<DeviceEvent> Of(string deviceId)
    {
        lock (_lock)
        {
            return _events.Where(e => e.DeviceId == deviceId).ToList();
        }
    }

    /// <summary>The types of one device's events, in the order raised.</summary>
    public IReadOnlyList<string> TypesOf(string deviceId) => Of(deviceId).Select(e => e.Type).ToList();

    /// <summary>
    /// Completes with the device's next event of <paramref name="type"/> raised after this call (set it up before the
    /// action that raises it). Throws after a real-time <paramref name="timeout"/>, so a broken grain fails the test
    /// instead of hanging it; the wait is on the condition, not on time passing.
    /// </summary>
    public Task<DeviceEvent> Next(string deviceId, string type, TimeSpan? timeout = null)
    {
        var done = new TaskCompletionSource<DeviceEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _waiters.Add((deviceId, type, done));
        }
        return done.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(10));
    }
}
