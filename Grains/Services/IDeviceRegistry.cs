namespace NHub.Grains.Services;

/// <summary>
/// The queryable list of devices (PostgreSQL table in production, memory in embedded mode). Device grains keep it
/// current; the management API lists from it without activating grains.
/// </summary>
public interface IDeviceRegistry
{
    Task UpsertAsync(DeviceSummary device, CancellationToken cancellationToken);

    Task SetConnectivityAsync(string deviceId, bool online, DateTimeOffset? lastSeen, DeviceTransport transport, CancellationToken cancellationToken);

    /// <summary>The device's pending command count and the firmware version it is downloading (null: none).</summary>
    Task SetPendingWorkAsync(string deviceId, int pendingCommands, string? firmwareDownloading, CancellationToken cancellationToken);

    Task RemoveAsync(string deviceId, CancellationToken cancellationToken);

    Task<DevicePage> QueryAsync(DeviceQuery query, CancellationToken cancellationToken);

    Task<FleetCounts> SummarizeAsync(CancellationToken cancellationToken);
}

/// <summary>Durable firmware image storage (PostgreSQL bytea in production, memory in embedded mode).</summary>
public interface IFirmwareRepository
{
    Task<FirmwareInfo> StoreAsync(string version, byte[] content, DateTimeOffset at, CancellationToken cancellationToken);

    Task<FirmwareImage?> GetAsync(string version, CancellationToken cancellationToken);

    Task<FirmwareInfo?> GetInfoAsync(string version, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string version, CancellationToken cancellationToken);

    Task<IReadOnlyList<FirmwareInfo>> ListAsync(CancellationToken cancellationToken);
}
