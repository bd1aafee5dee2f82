using NHub.Grains.Services;
using Orleans.Concurrency;

namespace NHub.Grains;

[StatelessWorker]
public sealed class FirmwareCatalogGrain(IFirmwareRepository repository) : Grain, IFirmwareCatalogGrain
{
    public Task<IReadOnlyList<FirmwareInfo>> List() => repository.ListAsync(CancellationToken.None);

    public Task<FirmwareInfo?> Find(string version) =>
        FirmwareVersions.IsValid(version) ? repository.GetInfoAsync(version, CancellationToken.None) : Task.FromResult<FirmwareInfo?>(null);
}
