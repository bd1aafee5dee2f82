using System.Collections.Concurrent;
using NHub.Grains;

namespace NHub.Gateway.Resources;

/// <summary>
/// Firmware images held in the gateway so Block2 requests are served from memory: fetched from the version's grain
/// once, re-validated after <see cref="GatewayOptions.FirmwareCacheRevalidateAfter"/> (a replaced image changes its
/// ETag), bounded in bytes with least-recently-used eviction.
/// </summary>
public sealed class FirmwareCache(IGrainFactory grains, GatewayOptions options, TimeProvider time)
{
    public sealed record CachedImage(FirmwareInfo Info, byte[] Content, byte[] ETag)
    {
        internal long FetchedAt;
        internal long LastUsed;
    }

    private readonly ConcurrentDictionary<string, CachedImage> _images = new(StringComparer.Ordinal);
    private readonly Lock _evictGate = new();
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public async ValueTask<CachedImage?> GetAsync(string version)
    {
        var now = time.GetTimestamp();
        if (_images.TryGetValue(version, out var cached) && time.GetElapsedTime(cached.FetchedAt) < options.FirmwareCacheRevalidateAfter)
        {
            cached.LastUsed = now;
            return cached;
        }
        var grain = grains.GetGrain<IFirmwareGrain>(version);
        if (cached is not null)
        {
            var info = await grain.GetInfo();
            if (info is not null && string.Equals(info.Sha256, cached.Info.Sha256, StringComparison.Ordinal))
            {
                cached.FetchedAt = cached.LastUsed = now;
                return cached;
            }
            Remove(version);
        }
        var image = await grain.GetImage();
        if (image is null)
        {
            return null;
        }
        // ETag (RFC 7252 §5.10.6, 1–8 bytes): the first 8 bytes of the image's SHA-256.
        var entry = new CachedImage(image.Info, image.Content, Convert.FromHexString(image.Info.Sha256[..16])) { FetchedAt = now, LastUsed = now };
        if (image.Content.LongLength <= options.FirmwareCacheBytes)
        {
            if (_images.TryAdd(version, entry))
            {
                Interlocked.Add(ref _bytes, image.Content.LongLength);
                Evict();
            }
        }
        return entry;
    }

    private void Remove(string version)
    {
        if (_images.TryRemove(version, out var removed))
        {
            Interlocked.Add(ref _bytes, -removed.Content.LongLength);
        }
    }

    private void Evict()
    {
        lock (_evictGate)
        {
            while (Interlocked.Read(ref _bytes) > options.FirmwareCacheBytes && !_images.IsEmpty)
            {
                var oldest = _images.MinBy(kv => kv.Value.LastUsed);
                Remove(oldest.Key);
            }
        }
    }
}
