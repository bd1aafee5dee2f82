using NHub.Grains.Services;

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
