namespace NHub.Grains;

/// <summary>SIM details of a cellular device.</summary>
[GenerateSerializer, Immutable, Alias("nhub.SimDetails")]
public sealed record SimDetails(
    [property: Id(0)] string? Iccid,
    [property: Id(1)] string? Msisdn,
    [property: Id(2)] string? Operator);

/// <summary>What the portal knows about a device: identity and hardware.</summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceRecord")]
public sealed record DeviceRecord(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string? Model,
    [property: Id(2)] string? Serial,
    [property: Id(3)] string? Imei,
    [property: Id(4)] SimDetails? Sim);

/// <summary>The device twin as seen by the portal.</summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceTwin")]
public sealed record DeviceTwin(
    [property: Id(0)] DeviceRecord Record,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] DateTimeOffset UpdatedAt);
