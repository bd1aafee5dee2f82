using System.Text.Json.Nodes;

namespace NHub.ManagementApi.Contracts;

/// <summary>
/// One recent telemetry message. <c>payload</c> is the message as JSON when it could be decoded (Content-Format 50
/// JSON as is, 60 CBOR converted per RFC 8949 §6.1); otherwise <c>payload</c> is null and <c>payload_base64</c> holds
/// the raw bytes, with <c>decode_error</c> saying why when the format claimed to be JSON or CBOR.
/// </summary>
public sealed record TelemetryMessageResponse(
    DateTimeOffset ReceivedAt,
    int ContentFormat,
    string ContentType,
    DeviceTransport Transport,
    JsonNode? Payload,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    string? PayloadBase64,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    string? DecodeError);

/// <summary>Newest first.</summary>
public sealed record TelemetryListResponse(string DeviceId, IReadOnlyList<TelemetryMessageResponse> Items);
