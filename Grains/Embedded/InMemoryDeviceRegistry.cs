using System.Collections.Concurrent;
using NHub.Grains.Services;

namespace NHub.Grains.Embedded;

/// <summary>Embedded mode: the device registry in process memory.</summary>
public sealed class InMemoryDeviceRegistry : IDeviceRegistry
{
    private readonly ConcurrentDictionary<string, DeviceSummary> _devices = new(StringComparer.Ordinal);

    public Task UpsertAsync(DeviceSummary device, CancellationToken cancellationToken)
    {
        _devices[device.DeviceId] = device;
        return Task.CompletedTask;
    }

    public Task SetConnectivityAsync(string deviceId, bool online, DateTimeOffset? lastSeen, CancellationToken cancellationToken)
    {
        if (_devices.TryGetValue(deviceId, out var d))
        {
            _devices[deviceId] = d with { Online = online, LastSeen = lastSeen };
        }
        return Task.CompletedTask;
    }

    public Task RemoveAsync(string deviceId, CancellationToken cancellationToken)
    {
        _devices.TryRemove(deviceId, out _);
        return Task.CompletedTask;
    }

    public Task<DevicePage> QueryAsync(DeviceQuery query, CancellationToken cancellationToken)
    {
        var matches = _devices.Values
            .Where(d => DeviceQueryMatcher.Matches(d, query))
            .OrderBy(d => d.DeviceId, StringComparer.Ordinal)
            .ToList();
        var page = matches.Skip(Math.Max(0, query.Offset)).Take(Math.Max(0, query.Limit)).ToList();
        return Task.FromResult(new DevicePage(page, matches.Count));
    }
}

/// <summary>The registry's filter semantics, shared by every implementation's tests.</summary>
public static class DeviceQueryMatcher
{
    /// <summary>Search is a case-insensitive substring of device id, serial or IMEI.</summary>
    public static bool Matches(DeviceSummary d, DeviceQuery q)
    {
        if (q.Online == OnlineFilter.Online && !d.Online)
        {
            return false;
        }
        if (q.Online == OnlineFilter.Offline && d.Online)
        {
            return false;
        }
        if (string.IsNullOrEmpty(q.Search))
        {
            return true;
        }
        return Contains(d.DeviceId, q.Search) || Contains(d.Serial, q.Search) || Contains(d.Imei, q.Search);
    }

    private static bool Contains(string? value, string search) =>
        value is not null && value.Contains(search, StringComparison.OrdinalIgnoreCase);
}
