using System.Collections.Concurrent;

namespace NHub.Gateway.Resources;

/// <summary>
/// Firmware images held in the gateway so Block2 requests are served from memory: fetched from the version's grain
/// once, re-validated after <see cref="GatewayOptions.FirmwareCacheRevalidateAfter"/> (a replaced image changes its
/// ETag), bounded in bytes with least-recently-used eviction. Whether a version exists is asked of the firmware
/// catalog (a stateless worker), never of the version's grain, and a version that does not exist is remembered for
/// <see cref="GatewayOptions.FirmwareNotFoundCacheTime"/> in a bounded table: unknown names activate nothing.
/// </summary>
public sealed class FirmwareCache(IGrainFactory grains, GatewayOptions options, TimeProvider time)
{
    public sealed record CachedImage(FirmwareInfo Info, byte[] Content, byte[] ETag)
    {
        internal long FetchedAt;
        internal long LastUsed;
    }

    private readonly ConcurrentDictionary<string, CachedImage> _images = new(StringComparer.Ordinal);
    private readonly NegativeCache _notFound = new(options.FirmwareNotFoundCacheTime, options.FirmwareNotFoundCacheEntries, time);
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
        if (_notFound.Contains(version))
        {
            return null;
        }
        var info = await grains.GetGrain<IFirmwareCatalogGrain>(0).Find(version);
        if (info is null)
        {
            Remove(version);
            _notFound.Add(version);
            return null;
        }
        if (cached is not null)
        {
            if (string.Equals(info.Sha256, cached.Info.Sha256, StringComparison.Ordinal))
            {
                cached.FetchedAt = cached.LastUsed = now;
                return cached;
            }
            Remove(version);
        }
        var image = await grains.GetGrain<IFirmwareGrain>(version).GetImage();
        if (image is null)
        {
            // deleted between the two look-ups
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
