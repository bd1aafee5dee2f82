namespace NHub.Grains;

/// <summary>queued → sent → delivered (on the device's ACK); expired when the TTL passes first; cancelled by the portal.</summary>
public enum CommandStatus
{
    Queued = 0,
    Sent = 1,
    Delivered = 2,
    Expired = 3,
    Cancelled = 4,
}

[GenerateSerializer, Immutable, Alias("nhub.CommandRequest")]
public sealed record CommandRequest(
    [property: Id(0)] string Name,
    [property: Id(1)] string? ParamsJson,
    [property: Id(2)] int TtlSeconds);

[GenerateSerializer, Immutable, Alias("nhub.CommandInfo")]
public sealed record CommandInfo(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string? ParamsJson,
    [property: Id(3)] CommandStatus Status,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset ExpiresAt,
    [property: Id(6)] DateTimeOffset? SentAt,
    [property: Id(7)] DateTimeOffset? DeliveredAt);

/// <summary>Pushed to the gateway holding the relation (<see cref="IGatewayObserver.Commands"/>): notify this device's observers of these commands.</summary>
[GenerateSerializer, Immutable, Alias("nhub.DownlinkCommands")]
public sealed record DownlinkCommands(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] IReadOnlyList<CommandInfo> Commands);

public enum CancelOutcome
{
    Cancelled = 0,
    NotFound = 1,
    NotPending = 2,
}
