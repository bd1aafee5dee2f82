using System.Collections.Concurrent;
using NHub.Grains.Services;

namespace NHub.Grains.Embedded;

/// <summary>Embedded mode: the device registry in process memory.</summary>
public sealed class InMemoryDeviceRegistry : IDeviceRegistry
{
    private readonly ConcurrentDictionary<string, DeviceSummary> _devices = new(StringComparer.Ordinal);

    public Task UpsertAsync(DeviceSummary device, CancellationToken cancellationToken)
    {
        // Like the table's upsert: the record fields change, what the twin reports separately is kept.
        _devices.AddOrUpdate(device.DeviceId, device,
            (_, current) => current with { Model = device.Model, Serial = device.Serial, Imei = device.Imei });
        return Task.CompletedTask;
    }

    public Task SetConnectivityAsync(string deviceId, bool online, DateTimeOffset? lastSeen, DeviceTransport transport, CancellationToken cancellationToken)
    {
        if (_devices.TryGetValue(deviceId, out var d))
        {
            _devices[deviceId] = d with { Online = online, LastSeen = lastSeen, Transport = transport };
        }
        return Task.CompletedTask;
    }

    public Task SetPendingWorkAsync(string deviceId, int pendingCommands, string? firmwareDownloading, CancellationToken cancellationToken)
    {
        if (_devices.TryGetValue(deviceId, out var d))
        {
            _devices[deviceId] = d with { PendingCommands = pendingCommands, FirmwareDownloading = firmwareDownloading };
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
        var matches = _devices.Values.Where(d => DeviceQueryMatcher.Matches(d, query));
        var ordered = query.Order == DeviceOrder.LastSeenDescending
            ? matches.OrderByDescending(d => d.LastSeen.HasValue).ThenByDescending(d => d.LastSeen).ThenBy(d => d.DeviceId, StringComparer.Ordinal)
            : matches.OrderBy(d => d.DeviceId, StringComparer.Ordinal);
        var all = ordered.ToList();
        var page = all.Skip(Math.Max(0, query.Offset)).Take(Math.Max(0, query.Limit)).ToList();
        return Task.FromResult(new DevicePage(page, all.Count));
    }

    public Task<FleetCounts> SummarizeAsync(CancellationToken cancellationToken)
    {
        long devices = 0, online = 0, withPending = 0, pending = 0, firmware = 0;
        var byTransport = new Dictionary<DeviceTransport, (long Devices, long Online)>();
        foreach (var d in _devices.Values)
        {
            devices++;
            online += d.Online ? 1 : 0;
            withPending += d.PendingCommands > 0 ? 1 : 0;
            pending += d.PendingCommands;
            firmware += d.FirmwareDownloading is null ? 0 : 1;
            var (n, o) = byTransport.GetValueOrDefault(d.Transport);
            byTransport[d.Transport] = (n + 1, o + (d.Online ? 1 : 0));
        }
        var transports = byTransport.OrderBy(t => t.Key).Select(t => new TransportCount(t.Key, t.Value.Devices, t.Value.Online)).ToList();
        return Task.FromResult(new FleetCounts(devices, online, transports, withPending, pending, firmware));
    }
}
