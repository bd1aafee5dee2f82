using System.Formats.Cbor;
using System.Text.Json;

namespace NHub.Gateway.Resources;

/// <summary>What POST /telemetry must answer before anything reaches a grain.</summary>
public enum TelemetryVerdict
{
    Accept,
    BadRequest,
    Forbidden,
    UnsupportedContentFormat,
}

/// <summary>The decision for one telemetry request: the device it is for, its format, or why it is refused.</summary>
public readonly record struct TelemetryDecision(TelemetryVerdict Verdict, string? DeviceId, int ContentFormat, string? Diagnostic)
{
    public static TelemetryDecision Refuse(TelemetryVerdict verdict, string diagnostic) => new(verdict, null, -1, diagnostic);
}

/// <summary>
/// The device guide's rules for <c>POST /telemetry</c>, independent of transport and codec:
/// <list type="bullet">
/// <item>Plain CoAP: <c>?id=</c> is required (4.00 when missing or empty).</item>
/// <item>DTLS: the id defaults to the authenticated device; naming another device is 4.03 Forbidden.</item>
/// <item>Content-Format 50 (JSON) and 60 (CBOR) must be well-formed (4.00 otherwise); 42 is taken as is; no
/// Content-Format is treated as 42 (RFC 7252 §5.10.3 leaves the type unspecified); anything else is 4.15.</item>
/// </list>
/// </summary>
public static class TelemetryRequestRules
{
    public const int Json = 50;
    public const int Cbor = 60;
    public const int OctetStream = 42;

    /// <param name="queryId">The <c>id</c> query value; null when the query has no <c>id</c>.</param>
    /// <param name="authenticatedDeviceId">The device the DTLS session authenticated; null on plain CoAP.</param>
    /// <param name="contentFormat">The Content-Format option; null when absent.</param>
    /// <param name="payload">The request body (after Block1 reassembly).</param>
    public static TelemetryDecision Decide(string? queryId, string? authenticatedDeviceId, int? contentFormat, ReadOnlySpan<byte> payload)
    {
        string deviceId;
        if (authenticatedDeviceId is null)
        {
            if (string.IsNullOrEmpty(queryId))
            {
                return TelemetryDecision.Refuse(TelemetryVerdict.BadRequest, "missing device id: POST /telemetry?id=<device_id>");
            }
            deviceId = queryId;
        }
        else if (queryId is null)
        {
            deviceId = authenticatedDeviceId;
        }
        else if (queryId.Length == 0)
        {
            return TelemetryDecision.Refuse(TelemetryVerdict.BadRequest, "empty device id: omit ?id= or name the authenticated device");
        }
        else if (!string.Equals(queryId, authenticatedDeviceId, StringComparison.Ordinal))
        {
            return TelemetryDecision.Refuse(TelemetryVerdict.Forbidden, $"this session is authenticated as device {authenticatedDeviceId}, not {queryId}");
        }
        else
        {
            deviceId = queryId;
        }
        if (!DeviceIds.IsValid(deviceId))
        {
            return TelemetryDecision.Refuse(TelemetryVerdict.BadRequest, "invalid device id: 1-64 characters of A-Z a-z 0-9 - _");
        }

        var format = contentFormat ?? OctetStream;
        if (format is not (Json or Cbor or OctetStream))
        {
            return TelemetryDecision.Refuse(TelemetryVerdict.UnsupportedContentFormat, "Content-Format must be 50 (application/json), 60 (application/cbor) or 42 (application/octet-stream)");
        }
        if (payload.IsEmpty)
        {
            return TelemetryDecision.Refuse(TelemetryVerdict.BadRequest, "empty payload");
        }
        var malformed = format switch
        {
            Json => CheckJson(payload),
            Cbor => CheckCbor(payload),
            _ => null,
        };
        return malformed is null
            ? new TelemetryDecision(TelemetryVerdict.Accept, deviceId, format, null)
            : TelemetryDecision.Refuse(TelemetryVerdict.BadRequest, malformed);
    }

    /// <summary>One complete JSON value (RFC 8259), nothing after it but whitespace.</summary>
    private static string? CheckJson(ReadOnlySpan<byte> payload)
    {
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read())
            {
                return "malformed JSON: no value";
            }
            reader.Skip();
            return reader.Read() ? "malformed JSON: more than one value" : null;
        }
        catch (JsonException ex)
        {
            return $"malformed JSON at byte {ex.BytePositionInLine}";
        }
    }

    /// <summary>Exactly one well-formed CBOR data item (RFC 8949 §5.3.1, strict: no trailing bytes).</summary>
    private static string? CheckCbor(ReadOnlySpan<byte> payload)
    {
        try
        {
            // CborReader needs memory; telemetry payloads are small and this copy is the only allocation here.
            var reader = new CborReader(payload.ToArray(), CborConformanceMode.Lax);
            reader.SkipValue();
            return reader.BytesRemaining == 0 ? null : "malformed CBOR: trailing bytes after the data item";
        }
        catch (Exception ex) when (ex is CborContentException or InvalidOperationException or FormatException)
        {
            return "malformed CBOR: " + ex.Message;
        }
    }
}
