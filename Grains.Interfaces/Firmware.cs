namespace NHub.Grains;

/// <summary>A stored firmware image's metadata.</summary>
[GenerateSerializer, Immutable, Alias("nhub.FirmwareInfo")]
public sealed record FirmwareInfo(
    [property: Id(0)] string Version,
    [property: Id(1)] long Size,
    [property: Id(2)] string Sha256,
    [property: Id(3)] DateTimeOffset CreatedAt);

/// <summary>A firmware image with its bytes (gateways cache it and serve it with Block2).</summary>
[GenerateSerializer, Immutable, Alias("nhub.FirmwareImage")]
public sealed record FirmwareImage(
    [property: Id(0)] FirmwareInfo Info,
    [property: Id(1)] byte[] Content);

/// <summary>A device's download progress, as reported (throttled) by the gateway serving it.</summary>
[GenerateSerializer, Immutable, Alias("nhub.FirmwareProgress")]
public sealed record FirmwareProgress(
    [property: Id(0)] string Version,
    [property: Id(1)] long BlocksServed,
    [property: Id(2)] long BytesServed,
    [property: Id(3)] long TotalBytes,
    [property: Id(4)] DateTimeOffset StartedAt,
    [property: Id(5)] DateTimeOffset? CompletedAt,
    [property: Id(6)] DateTimeOffset LastBlockAt);

/// <summary>
/// One progress report from a gateway: <see cref="BlocksServed"/> and <see cref="BytesServed"/> are the amounts served
/// since that gateway's previous report for this device (deltas, so reports from several gateways add up).
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.FirmwareBlockReport")]
public sealed record FirmwareBlockReport(
    [property: Id(0)] string Version,
    [property: Id(1)] long BlocksServed,
    [property: Id(2)] long BytesServed,
    [property: Id(3)] long TotalBytes,
    [property: Id(4)] bool LastBlockServed,
    [property: Id(5)] DateTimeOffset At);
