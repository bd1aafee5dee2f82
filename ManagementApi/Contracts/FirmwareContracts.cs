namespace NHub.ManagementApi.Contracts;

/// <summary>A stored firmware image: <c>sha256</c> is the lowercase hex digest of its bytes.</summary>
public sealed record FirmwareResponse(string Version, long Size, string Sha256, DateTimeOffset CreatedAt)
{
    internal static FirmwareResponse From(FirmwareInfo f) => new(f.Version, f.Size, f.Sha256, f.CreatedAt);
}

public sealed record FirmwareListResponse(IReadOnlyList<FirmwareResponse> Items);

/// <summary>A device's firmware download as reported by the gateway serving it (throttled, so slightly behind).</summary>
public sealed record FirmwareProgressResponse(
    string Version,
    long BlocksServed,
    long BytesServed,
    long TotalBytes,
    double Percent,
    bool Completed,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset LastBlockAt)
{
    internal static FirmwareProgressResponse From(FirmwareProgress p) =>
        new(p.Version, p.BlocksServed, p.BytesServed, p.TotalBytes,
            p.TotalBytes <= 0 ? 0 : Math.Round(Math.Min(100.0, 100.0 * p.BytesServed / p.TotalBytes), 1),
            p.CompletedAt is not null, p.StartedAt, p.CompletedAt, p.LastBlockAt);
}

/// <summary>Body of <c>GET /devices/{device_id}/firmware</c>: <c>download</c> is null until the device starts one.</summary>
public sealed record DeviceFirmwareResponse(string DeviceId, FirmwareProgressResponse? Download);
