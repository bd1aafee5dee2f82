namespace NHub.Grains;

/// <summary>Filter for listing devices.</summary>
public enum OnlineFilter
{
    Any = 0,
    Online = 1,
    Offline = 2,
}

/// <summary>The order of a device page.</summary>
public enum DeviceOrder
{
    /// <summary>By device id, ascending (stable paging).</summary>
    DeviceId = 0,

    /// <summary>Most recently seen first; never-seen devices last, by device id.</summary>
    LastSeenDescending = 1,
}

/// <summary>
/// A page of the registry. <see cref="Search"/>: case-insensitive substring of device id, serial or IMEI;
/// <see cref="IdPrefix"/>: the device id starts with it (case-sensitive, index-backed); <see cref="Transport"/>: the
/// last transport is this one (<see cref="DeviceTransport.None"/> = never seen); <see cref="PendingCommandsOnly"/>:
/// at least one pending command; <see cref="FirmwareDownloadingOnly"/>: a firmware download started and not completed.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceQuery")]
public sealed record DeviceQuery(
    [property: Id(0)] string? Search,
    [property: Id(1)] OnlineFilter Online,
    [property: Id(2)] int Offset,
    [property: Id(3)] int Limit,
    [property: Id(4)] string? IdPrefix = null,
    [property: Id(5)] DeviceTransport? Transport = null,
    [property: Id(6)] bool PendingCommandsOnly = false,
    [property: Id(7)] bool FirmwareDownloadingOnly = false,
    [property: Id(8)] DeviceOrder Order = DeviceOrder.DeviceId);

/// <summary>
/// One row of the device registry: what a list page shows without activating the device's grain.
/// <see cref="Transport"/>: the last message's transport; <see cref="PendingCommands"/>: queued or sent, not yet
/// delivered (as of the twin's last command change: a command that expired since is counted until the twin is next
/// touched); <see cref="FirmwareDownloading"/>: the version being downloaded, null when none is in progress.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceSummary")]
public sealed record DeviceSummary(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string? Model,
    [property: Id(2)] string? Serial,
    [property: Id(3)] string? Imei,
    [property: Id(4)] bool Online,
    [property: Id(5)] DateTimeOffset? LastSeen,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DeviceTransport Transport = DeviceTransport.None,
    [property: Id(8)] int PendingCommands = 0,
    [property: Id(9)] string? FirmwareDownloading = null);

[GenerateSerializer, Immutable, Alias("nhub.DevicePage")]
public sealed record DevicePage(
    [property: Id(0)] IReadOnlyList<DeviceSummary> Items,
    [property: Id(1)] long Total);

/// <summary>
/// The queryable device registry (a PostgreSQL table in production, memory in embedded mode), kept up to date by
/// the device grains. Listing thousands of devices reads it instead of activating every grain. Stateless worker.
/// </summary>
[Alias("nhub.IDeviceRegistryGrain")]
public interface IDeviceRegistryGrain : IGrainWithIntegerKey
{
    [Alias("Query")]
    Task<DevicePage> Query(DeviceQuery query);

    /// <summary>Fleet-wide counts (one aggregate over the registry).</summary>
    [Alias("Summarize")]
    Task<FleetCounts> Summarize();
}
