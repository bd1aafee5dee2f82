using NHub.Grains.Services;
using Orleans.Concurrency;

namespace NHub.Grains;

[StatelessWorker]
public sealed class DeviceRegistryGrain(IDeviceRegistry registry) : Grain, IDeviceRegistryGrain
{
    public Task<DevicePage> Query(DeviceQuery query) => registry.QueryAsync(query, CancellationToken.None);

    public Task<FleetCounts> Summarize() => registry.SummarizeAsync(CancellationToken.None);
}
