namespace NHub.Grains;

/// <summary>One telemetry message as the gateway decoded it (payload raw, format as the CoAP Content-Format number).</summary>
[GenerateSerializer, Immutable, Alias("nhub.TelemetryReport")]
public sealed record TelemetryReport(
    [property: Id(0)] int ContentFormat,
    [property: Id(1)] byte[] Payload,
    [property: Id(2)] DateTimeOffset ReceivedAt,
    [property: Id(3)] string ExchangeId,
    [property: Id(4)] DeviceTransport Transport,
    [property: Id(5)] string PeerAddress);

public enum TelemetryOutcome
{
    /// <summary>Durably accepted (JetStream acknowledged, or stored in the embedded buffer): answer 2.01.</summary>
    Accepted = 0,

    /// <summary>The backend could not take it in time: answer 5.03 with Max-Age = RetryAfterSeconds.</summary>
    Unavailable = 1,

    /// <summary>No such device (never provisioned or deleted): answer 4.04.</summary>
    UnknownDevice = 2,
}

[GenerateSerializer, Immutable, Alias("nhub.TelemetryResult")]
public sealed record TelemetryResult(
    [property: Id(0)] TelemetryOutcome Outcome,
    [property: Id(1)] int RetryAfterSeconds = 0,
    [property: Id(2)] string? Detail = null,
    [property: Id(3)] bool Duplicate = false);

/// <summary>A recent telemetry message kept by the twin for the portal.</summary>
[GenerateSerializer, Immutable, Alias("nhub.TelemetryEntry")]
public sealed record TelemetryEntry(
    [property: Id(0)] DateTimeOffset ReceivedAt,
    [property: Id(1)] int ContentFormat,
    [property: Id(2)] byte[] Payload,
    [property: Id(3)] DeviceTransport Transport);
