namespace NHub.Grains;

/// <summary>Filter for listing devices.</summary>
public enum OnlineFilter
{
    Any = 0,
    Online = 1,
    Offline = 2,
}

[GenerateSerializer, Immutable, Alias("nhub.DeviceQuery")]
public sealed record DeviceQuery(
    [property: Id(0)] string? Search,
    [property: Id(1)] OnlineFilter Online,
    [property: Id(2)] int Offset,
    [property: Id(3)] int Limit);

/// <summary>One row of the device registry: what a list page shows without activating the device's grain.</summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceSummary")]
public sealed record DeviceSummary(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string? Model,
    [property: Id(2)] string? Serial,
    [property: Id(3)] string? Imei,
    [property: Id(4)] bool Online,
    [property: Id(5)] DateTimeOffset? LastSeen,
    [property: Id(6)] DateTimeOffset CreatedAt);

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
}
