using System.Collections.Concurrent;
using System.Security.Cryptography;
using NHub.Grains.Services;

namespace NHub.Grains.Embedded;

/// <summary>Embedded mode: firmware images in process memory.</summary>
public sealed class InMemoryFirmwareRepository : IFirmwareRepository
{
    private readonly ConcurrentDictionary<string, FirmwareImage> _images = new(StringComparer.Ordinal);

    public Task<FirmwareInfo> StoreAsync(string version, byte[] content, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var info = new FirmwareInfo(version, content.LongLength, Convert.ToHexStringLower(SHA256.HashData(content)), at);
        _images[version] = new FirmwareImage(info, content);
        return Task.FromResult(info);
    }

    public Task<FirmwareImage?> GetAsync(string version, CancellationToken cancellationToken) =>
        Task.FromResult(_images.TryGetValue(version, out var image) ? image : null);

    public Task<FirmwareInfo?> GetInfoAsync(string version, CancellationToken cancellationToken) =>
        Task.FromResult(_images.TryGetValue(version, out var image) ? image.Info : null);

    public Task<bool> DeleteAsync(string version, CancellationToken cancellationToken) =>
        Task.FromResult(_images.TryRemove(version, out _));

    public Task<IReadOnlyList<FirmwareInfo>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<FirmwareInfo>>(_images.Values.Select(i => i.Info).OrderBy(i => i.Version, StringComparer.Ordinal).ToList());
}
