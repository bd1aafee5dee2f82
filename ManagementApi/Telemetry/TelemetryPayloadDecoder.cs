using System.Buffers.Text;
using System.Formats.Cbor;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NHub.Coap;

namespace NHub.ManagementApi.Telemetry;

/// <summary>
/// Turns a stored telemetry payload into something a portal can show: JSON (Content-Format 50) as JSON, CBOR (60)
/// converted to JSON, anything else — or a JSON/CBOR payload that does not parse — as base64.
/// </summary>
public static class TelemetryPayloadDecoder
{
    /// <summary>Deeper nesting is refused rather than recursed into (a hostile payload must not exhaust the stack).</summary>
    public const int MaxDepth = 64;

    public static TelemetryMessageResponse Decode(TelemetryEntry entry)
    {
        var (payload, error) = DecodePayload(entry.ContentFormat, entry.Payload);
        var base64 = payload is null ? Convert.ToBase64String(entry.Payload) : null;
        return new TelemetryMessageResponse(entry.ReceivedAt, entry.ContentFormat, ContentTypeOf(entry.ContentFormat), entry.Transport, payload, base64, error);
    }

    /// <summary>The payload as JSON, or (null, why) when it is not decodable; (null, null) for formats shown as base64.</summary>
    public static (JsonNode? Payload, string? Error) DecodePayload(int contentFormat, ReadOnlySpan<byte> payload)
    {
        switch (contentFormat)
        {
            case ContentFormats.Json:
                try
                {
                    var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = MaxDepth });
                    var node = JsonNode.Parse(ref reader);
                    if (reader.BytesConsumed != payload.Length && !IsWhitespace(payload[(int)reader.BytesConsumed..]))
                    {
                        return (null, "invalid JSON: data after the value");
                    }
                    return (node, null); // a literal JSON null stays null (and is then shown as base64 too)
                }
                catch (JsonException ex)
                {
                    return (null, "invalid JSON: " + ex.Message);
                }
            case ContentFormats.Cbor:
                try
                {
                    return (CborToJson(payload), null);
                }
                catch (Exception ex) when (ex is CborContentException or InvalidOperationException or FormatException or OverflowException)
                {
                    return (null, "invalid CBOR: " + ex.Message);
                }
            default:
                return (null, null);
        }
    }

    /// <summary>
    /// One CBOR data item as JSON, following RFC 8949 §6.1: byte strings become base64url without padding; NaN and
    /// infinities become null; a tag is dropped and its content converted; map keys that are not text become their
    /// JSON text (an integer key 1 becomes "1"); undefined and other simple values become null.
    /// </summary>
    public static JsonNode? CborToJson(ReadOnlySpan<byte> payload)
    {
        // Lax: devices are not canonical encoders; we only need well-formed.
        var reader = new CborReader(payload.ToArray(), CborConformanceMode.Lax, allowMultipleRootLevelValues: false);
        var node = ReadItem(reader, 0);
        if (reader.BytesRemaining != 0)
        {
            throw new CborContentException("data after the first item");
        }
        return node;
    }

    private static JsonNode? ReadItem(CborReader reader, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new CborContentException($"nesting deeper than {MaxDepth}");
        }
        switch (reader.PeekState())
        {
            case CborReaderState.UnsignedInteger:
                return JsonValue.Create(reader.ReadUInt64());
            case CborReaderState.NegativeInteger:
                // -1 - n can be below long.MinValue; decimal holds the whole CBOR range.
                return JsonValue.Create(-1m - reader.ReadCborNegativeIntegerRepresentation());
            case CborReaderState.ByteString:
                return JsonValue.Create(Base64Url.EncodeToString(reader.ReadByteString()));
            case CborReaderState.StartIndefiniteLengthByteString:
                return JsonValue.Create(Base64Url.EncodeToString(reader.ReadByteString()));
            case CborReaderState.TextString:
            case CborReaderState.StartIndefiniteLengthTextString:
                return JsonValue.Create(reader.ReadTextString());
            case CborReaderState.StartArray:
            {
                reader.ReadStartArray();
                var array = new JsonArray();
                while (reader.PeekState() != CborReaderState.EndArray)
                {
                    array.Add(ReadItem(reader, depth + 1));
                }
                reader.ReadEndArray();
                return array;
            }
            case CborReaderState.StartMap:
            {
                reader.ReadStartMap();
                var map = new JsonObject();
                while (reader.PeekState() != CborReaderState.EndMap)
                {
                    var key = ReadKey(reader, depth + 1);
                    map[key] = ReadItem(reader, depth + 1); // a repeated key: the last value wins
                }
                reader.ReadEndMap();
                return map;
            }
            case CborReaderState.Tag:
                reader.ReadTag();
                return ReadItem(reader, depth + 1);
            case CborReaderState.HalfPrecisionFloat:
            case CborReaderState.SinglePrecisionFloat:
            case CborReaderState.DoublePrecisionFloat:
            {
                var value = reader.ReadDouble();
                return double.IsFinite(value) ? JsonValue.Create(value) : null;
            }
            case CborReaderState.Boolean:
                return JsonValue.Create(reader.ReadBoolean());
            case CborReaderState.Null:
                reader.ReadNull();
                return null;
            case CborReaderState.SimpleValue: // undefined (23) and unassigned simple values

                reader.ReadSimpleValue();
                return null;
            default:
                throw new CborContentException($"unexpected {reader.PeekState()}");
        }
    }

    private static string ReadKey(CborReader reader, int depth)
    {
        switch (reader.PeekState())
        {
            case CborReaderState.TextString:
            case CborReaderState.StartIndefiniteLengthTextString:
                return reader.ReadTextString();
            case CborReaderState.UnsignedInteger:
                return reader.ReadUInt64().ToString(CultureInfo.InvariantCulture);
            case CborReaderState.NegativeInteger:
                return (-1m - reader.ReadCborNegativeIntegerRepresentation()).ToString(CultureInfo.InvariantCulture);
            default:
                return ReadItem(reader, depth)?.ToJsonString() ?? "null";
        }
    }

    private static bool IsWhitespace(ReadOnlySpan<byte> rest)
    {
        foreach (var b in rest)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The media type of the format (<see cref="ContentFormats"/>), or "content-format/N" for one without a registered name.</summary>
    public static string ContentTypeOf(int contentFormat) =>
        ContentFormats.MediaType(contentFormat) ?? "content-format/" + contentFormat.ToString(CultureInfo.InvariantCulture);
}
