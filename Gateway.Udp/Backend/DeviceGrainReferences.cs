using System.Collections.Concurrent;

namespace NHub.Gateway.Backend;

/// <summary>
/// Device grain references for the request path. <see cref="IGrainFactory.GetGrain{TGrainInterface}(string, string?)"/>
/// resolves the interface's grain type by reflection on every call (custom attributes, type-name formatting: about a
/// kilobyte of garbage and a few microseconds per telemetry request, bench/RESULTS.md, issue #15); a reference is
/// immutable and valid for as long as the cluster runs, so the gateway asks once per device. Bounded: past
/// <see cref="Capacity"/> devices the table starts over (a reference costs one factory call to make again).
/// </summary>
public sealed class DeviceGrainReferences(IGrainFactory grains)
{
    public const int Capacity = 65_536;

    private readonly ConcurrentDictionary<string, IDeviceGrain> _references = new(StringComparer.Ordinal);
    private int _added;

    public IDeviceGrain Get(string deviceId)
    {
        if (_references.TryGetValue(deviceId, out var known))
        {
            return known;
        }
        var made = grains.GetGrain<IDeviceGrain>(deviceId);
        if (Interlocked.Increment(ref _added) > Capacity)
        {
            _references.Clear();
            Interlocked.Exchange(ref _added, 1);
        }
        return _references.GetOrAdd(deviceId, made);
    }
}
