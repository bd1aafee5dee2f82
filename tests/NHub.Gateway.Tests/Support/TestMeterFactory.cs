using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace NHub.Gateway.Tests.Support;

/// <summary>
/// An <see cref="IMeterFactory"/> whose meters are scoped to it, plus a listener that totals every counter by
/// name and tags, so tests read "nhub.dtls.handshakes{result=success}" and wait for a total without sleeping.
/// </summary>
public sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();
    private readonly List<(Func<TestMeterFactory, bool> Condition, TaskCompletionSource Signal)> _waiters = [];
    private readonly Lock _gate = new();

    public TestMeterFactory()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, this))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    public Meter Create(MeterOptions options)
    {
        lock (_gate)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }
    }

    /// <summary>Total of <paramref name="name"/>, optionally only measurements carrying tag <paramref name="tag"/>=<paramref name="value"/>.</summary>
    public long Total(string name, string? tag = null, string? value = null)
        => _totals.GetValueOrDefault(tag is null ? name : $"{name}{{{tag}={value}}}");

    public async Task WaitForAsync(Func<TestMeterFactory, bool> condition, TimeSpan timeout, string what)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (condition(this))
            {
                return;
            }
            _waiters.Add((condition, signal));
        }
        if (await Task.WhenAny(signal.Task, Task.Delay(timeout)) != signal.Task)
        {
            throw new TimeoutException($"Timed out waiting for {what}. Counters: {Dump()}");
        }
    }

    public string Dump() => string.Join(", ", _totals.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"));

    public void Dispose()
    {
        _listener.Dispose();
        lock (_gate)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }

    private void OnMeasurement(Instrument instrument, long measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        _totals.AddOrUpdate(instrument.Name, measurement, (_, v) => v + measurement);
        foreach (var tag in tags)
        {
            if (tag.Key is "result" or "reason" or "auth" or "resumed")
            {
                _totals.AddOrUpdate($"{instrument.Name}{{{tag.Key}={tag.Value}}}", measurement, (_, v) => v + measurement);
            }
        }
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Condition(this))
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
