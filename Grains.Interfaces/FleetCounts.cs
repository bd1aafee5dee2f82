namespace NHub.Grains;

/// <summary>Devices whose last message came over one transport (<see cref="DeviceTransport.None"/>: never seen).</summary>
[GenerateSerializer, Immutable, Alias("nhub.TransportCount")]
public sealed record TransportCount(
    [property: Id(0)] DeviceTransport Transport,
    [property: Id(1)] long Devices,
    [property: Id(2)] long Online);

/// <summary>Fleet-wide counts from the device registry, for the operators' fleet page.</summary>
[GenerateSerializer, Immutable, Alias("nhub.FleetCounts")]
public sealed record FleetCounts(
    [property: Id(0)] long Devices,
    [property: Id(1)] long Online,
    [property: Id(2)] IReadOnlyList<TransportCount> ByTransport,
    [property: Id(3)] long DevicesWithPendingCommands,
    [property: Id(4)] long PendingCommands,
    [property: Id(5)] long FirmwareDownloads);
