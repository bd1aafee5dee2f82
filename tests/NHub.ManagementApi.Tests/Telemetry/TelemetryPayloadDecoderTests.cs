using System.Formats.Cbor;
using System.Text;
using System.Text.Json.Nodes;
using NHub.Grains;
using NHub.ManagementApi.Telemetry;

namespace NHub.ManagementApi.Tests.Telemetry;

/// <summary>Payload decoding for GET /devices/{id}/telemetry: JSON as is, CBOR per RFC 8949 §6.1, the rest base64.</summary>
public sealed class TelemetryPayloadDecoderTests
{
    private static JsonNode? Cbor(Action<CborWriter> write)
    {
        var writer = new CborWriter(CborConformanceMode.Lax, allowMultipleRootLevelValues: true);
        write(writer);
        var (payload, error) = TelemetryPayloadDecoder.DecodePayload(NHub.Coap.ContentFormats.Cbor, writer.Encode());
        Assert.Null(error);
        return payload;
    }

    private static string? CborError(byte[] bytes) => TelemetryPayloadDecoder.DecodePayload(NHub.Coap.ContentFormats.Cbor, bytes).Error;

    [Fact]
    public void Json_is_returned_as_json()
    {
        var (payload, error) = TelemetryPayloadDecoder.DecodePayload(50, """ {"temperature": 23.5, "tags": ["a", null]} """u8);
        Assert.Null(error);
        Assert.Equal("""{"temperature":23.5,"tags":["a",null]}""", payload!.ToJsonString());
    }

    [Theory]
    [InlineData("{\"a\":")]
    [InlineData("{\"a\":1} trailing")]
    [InlineData("")]
    [InlineData("{'single':'quotes'}")]
    public void Invalid_json_is_not_decoded_and_says_why(string text)
    {
        var (payload, error) = TelemetryPayloadDecoder.DecodePayload(50, Encoding.UTF8.GetBytes(text));
        Assert.Null(payload);
        Assert.StartsWith("invalid JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_nested_deeper_than_the_limit_is_refused()
    {
        var deep = new string('[', TelemetryPayloadDecoder.MaxDepth + 1) + new string(']', TelemetryPayloadDecoder.MaxDepth + 1);
        Assert.NotNull(TelemetryPayloadDecoder.DecodePayload(50, Encoding.UTF8.GetBytes(deep)).Error);
    }

    [Fact]
    public void A_cbor_map_becomes_a_json_object_with_the_same_keys_and_values()
    {
        var json = Cbor(w =>
        {
            w.WriteStartMap(6);
            w.WriteTextString("temperature");
            w.WriteDouble(23.5);
            w.WriteTextString("count");
            w.WriteUInt64(ulong.MaxValue);
            w.WriteTextString("delta");
            w.WriteInt32(-17);
            w.WriteTextString("ok");
            w.WriteBoolean(true);
            w.WriteTextString("nothing");
            w.WriteNull();
            w.WriteTextString("list");
            w.WriteStartArray(2);
            w.WriteTextString("x");
            w.WriteStartMap(0);
            w.WriteEndMap();
            w.WriteEndArray();
            w.WriteEndMap();
        });
        Assert.Equal("""{"temperature":23.5,"count":18446744073709551615,"delta":-17,"ok":true,"nothing":null,"list":["x",{}]}""", json!.ToJsonString());
    }

    [Fact]
    public void Cbor_integers_beyond_long_keep_their_exact_value()
    {
        // -1 - (2^64 - 1) = -18446744073709551616, the smallest CBOR integer.
        var json = Cbor(w => w.WriteCborNegativeIntegerRepresentation(ulong.MaxValue));
        Assert.Equal("-18446744073709551616", json!.ToJsonString());
    }

    [Fact]
    public void Byte_strings_become_base64url_without_padding()
    {
        Assert.Equal("\"3q2-7w\"", Cbor(w => w.WriteByteString([0xde, 0xad, 0xbe, 0xef]))!.ToJsonString());
    }

    [Fact]
    public void Tags_are_dropped_and_their_content_converted()
    {
        var json = Cbor(w =>
        {
            w.WriteStartArray(2);
            w.WriteDateTimeOffset(new DateTimeOffset(2026, 11, 25, 7, 0, 0, TimeSpan.Zero)); // tag 0
            w.WriteUnixTimeSeconds(1_700_000_000); // tag 1
            w.WriteEndArray();
        });
        Assert.Equal("""["2026-11-25T07:00:00Z",1700000000]""", json!.ToJsonString());
    }

    [Fact]
    public void Non_finite_floats_and_undefined_become_null_and_half_floats_are_read()
    {
        var json = Cbor(w =>
        {
            w.WriteStartArray(4);
            w.WriteDouble(double.NaN);
            w.WriteSingle(float.PositiveInfinity);
            w.WriteSimpleValue(CborSimpleValue.Undefined);
            w.WriteHalf((Half)1.5);
            w.WriteEndArray();
        });
        Assert.Equal("[null,null,null,1.5]", json!.ToJsonString());
    }

    [Fact]
    public void Non_text_map_keys_become_their_json_text()
    {
        var json = Cbor(w =>
        {
            w.WriteStartMap(3);
            w.WriteInt32(1);
            w.WriteTextString("one");
            w.WriteInt32(-2);
            w.WriteTextString("minus two");
            w.WriteBoolean(false);
            w.WriteTextString("no");
            w.WriteEndMap();
        });
        Assert.Equal("""{"1":"one","-2":"minus two","false":"no"}""", json!.ToJsonString());
    }

    [Fact]
    public void Indefinite_length_items_are_read()
    {
        var json = Cbor(w =>
        {
            w.WriteStartMap(null);
            w.WriteTextString("values");
            w.WriteStartArray(null);
            w.WriteInt32(1);
            w.WriteInt32(2);
            w.WriteEndArray();
            w.WriteStartIndefiniteLengthTextString();
            w.WriteTextString("na");
            w.WriteTextString("me");
            w.WriteEndIndefiniteLengthTextString();
            w.WriteTextString("x");
            w.WriteEndMap();
        });
        Assert.Equal("""{"values":[1,2],"name":"x"}""", json!.ToJsonString());
    }

    [Theory]
    [InlineData(new byte[] { 0xa1, 0x61 })] // map of 1, key text of length 1, truncated
    [InlineData(new byte[] { 0x01, 0x02 })] // two root items
    [InlineData(new byte[] { 0x1c })] // reserved additional information
    [InlineData(new byte[] { 0xff })] // a "break" with nothing to end
    [InlineData(new byte[0])]
    public void Malformed_cbor_is_not_decoded_and_says_why(byte[] bytes)
    {
        Assert.StartsWith("invalid CBOR", CborError(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void Cbor_nested_deeper_than_the_limit_is_refused_without_exhausting_the_stack()
    {
        var bytes = Enumerable.Repeat((byte)0x81, 100_000).Append((byte)0x00).ToArray(); // [[[[...0]]]]
        Assert.StartsWith("invalid CBOR", CborError(bytes), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(42)]
    [InlineData(0)]
    [InlineData(11542)]
    public void Other_formats_are_returned_as_base64_without_an_error(int contentFormat)
    {
        var entry = new TelemetryEntry(DateTimeOffset.UnixEpoch, contentFormat, [0x01, 0x02, 0xff], DeviceTransport.Coap);
        var message = TelemetryPayloadDecoder.Decode(entry);
        Assert.Null(message.Payload);
        Assert.Equal("AQL/", message.PayloadBase64);
        Assert.Null(message.DecodeError);
        Assert.Equal(contentFormat, message.ContentFormat);
    }

    [Fact]
    public void An_undecodable_json_message_keeps_its_bytes_in_base64_and_the_reason()
    {
        var message = TelemetryPayloadDecoder.Decode(new TelemetryEntry(DateTimeOffset.UnixEpoch, 50, "{oops"u8.ToArray(), DeviceTransport.Coaps));
        Assert.Null(message.Payload);
        Assert.Equal(Convert.ToBase64String("{oops"u8), message.PayloadBase64);
        Assert.NotNull(message.DecodeError);
        Assert.Equal("application/json", message.ContentType);
    }
}
