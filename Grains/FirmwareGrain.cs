using NHub.Grains.Services;
using Orleans.Concurrency;

namespace NHub.Grains;

/// <summary>One firmware version. The bytes live in the repository; an activation caches them for gateways.</summary>
public sealed class FirmwareGrain(IFirmwareRepository repository, TimeProvider time) : Grain, IFirmwareGrain
{
    private FirmwareImage? _cached;

    private string Version => this.GetPrimaryKeyString();

    public async Task<FirmwareInfo> Store(byte[] content)
    {
        var info = await repository.StoreAsync(Version, content, time.GetUtcNow(), CancellationToken.None);
        _cached = new FirmwareImage(info, content);
        return info;
    }

    public async Task<FirmwareInfo?> GetInfo() =>
        _cached?.Info ?? await repository.GetInfoAsync(Version, CancellationToken.None);

    public async Task<FirmwareImage?> GetImage() =>
        _cached ??= await repository.GetAsync(Version, CancellationToken.None);

    public async Task<bool> Delete()
    {
        _cached = null;
        var deleted = await repository.DeleteAsync(Version, CancellationToken.None);
        DeactivateOnIdle();
        return deleted;
    }
}

[StatelessWorker]
public sealed class FirmwareCatalogGrain(IFirmwareRepository repository) : Grain, IFirmwareCatalogGrain
{
    public Task<IReadOnlyList<FirmwareInfo>> List() => repository.ListAsync(CancellationToken.None);

    public Task<FirmwareInfo?> Find(string version) =>
        FirmwareVersions.IsValid(version) ? repository.GetInfoAsync(version, CancellationToken.None) : Task.FromResult<FirmwareInfo?>(null);
}

[StatelessWorker]
public sealed class DeviceRegistryGrain(IDeviceRegistry registry) : Grain, IDeviceRegistryGrain
{
    public Task<DevicePage> Query(DeviceQuery query) => registry.QueryAsync(query, CancellationToken.None);
}
