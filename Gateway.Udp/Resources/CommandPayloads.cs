using System.Buffers;
using System.Formats.Cbor;
using System.Text.Json;

namespace NHub.Gateway.Resources;

/// <summary>The command representation devices receive (docs/commands.md): JSON (50) or CBOR (60) with the same keys.</summary>
public static class CommandPayloads
{
    public static byte[] Encode(IReadOnlyList<CommandInfo> commands, int contentFormat) =>
        contentFormat == ContentFormats.Cbor ? EncodeCbor(commands) : EncodeJson(commands);

    private static byte[] EncodeJson(IReadOnlyList<CommandInfo> commands)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("commands");
            foreach (var c in commands)
            {
                w.WriteStartObject();
                w.WriteString("id", c.Id);
                w.WriteString("name", c.Name);
                w.WritePropertyName("params");
                if (c.ParamsJson is null)
                {
                    w.WriteNullValue();
                }
                else
                {
                    w.WriteRawValue(c.ParamsJson, skipInputValidation: false);
                }
                w.WriteString("created_at", c.CreatedAt.UtcDateTime);
                w.WriteString("expires_at", c.ExpiresAt.UtcDateTime);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] EncodeCbor(IReadOnlyList<CommandInfo> commands)
    {
        var w = new CborWriter(CborConformanceMode.Lax);
        w.WriteStartMap(1);
        w.WriteTextString("commands");
        w.WriteStartArray(commands.Count);
        foreach (var c in commands)
        {
            w.WriteStartMap(5);
            w.WriteTextString("id");
            w.WriteTextString(c.Id.ToString());
            w.WriteTextString("name");
            w.WriteTextString(c.Name);
            w.WriteTextString("params");
            if (c.ParamsJson is null)
            {
                w.WriteNull();
            }
            else
            {
                using var doc = JsonDocument.Parse(c.ParamsJson);
                WriteJson(w, doc.RootElement);
            }
            w.WriteTextString("created_at");
            w.WriteDateTimeOffset(c.CreatedAt.ToUniversalTime());
            w.WriteTextString("expires_at");
            w.WriteDateTimeOffset(c.ExpiresAt.ToUniversalTime());
            w.WriteEndMap();
        }
        w.WriteEndArray();
        w.WriteEndMap();
        return w.Encode();
    }

    /// <summary>JSON → CBOR (RFC 8949 §6.2): objects to maps, numbers to integers where exact, else doubles.</summary>
    private static void WriteJson(CborWriter w, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartMap(null);
                foreach (var p in e.EnumerateObject())
                {
                    w.WriteTextString(p.Name);
                    WriteJson(w, p.Value);
                }
                w.WriteEndMap();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray(null);
                foreach (var item in e.EnumerateArray())
                {
                    WriteJson(w, item);
                }
                w.WriteEndArray();
                break;
            case JsonValueKind.String:
                w.WriteTextString(e.GetString()!);
                break;
            case JsonValueKind.Number when e.TryGetInt64(out var l):
                w.WriteInt64(l);
                break;
            case JsonValueKind.Number:
                w.WriteDouble(e.GetDouble());
                break;
            case JsonValueKind.True:
                w.WriteBoolean(true);
                break;
            case JsonValueKind.False:
                w.WriteBoolean(false);
                break;
            default:
                w.WriteNull();
                break;
        }
    }
}
