using System.Buffers;

namespace NHub.Coap.Tests.Codec;

/// <summary>The §3.1 boundaries of the option encoding and the rules at the edges of the grammar.</summary>
public sealed class CodecEdgeTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    [Theory]
    [InlineData(12, "c0")]          // 0–12: the nibble itself
    [InlineData(13, "d0 00")]       // 13: nibble 13, one byte of value − 13
    [InlineData(268, "d0 ff")]      // largest one-byte form: 13 + 255
    [InlineData(269, "e0 00 00")]   // 14: two bytes of value − 269
    [InlineData(65535, "e0 fe f2")] // the largest option number: 65535 − 269 = 0xFEF2
    public void Option_deltas_use_the_shortest_form(int number, string optionHex)
    {
        var m = new CoapMessage { Code = CoapCode.Get };
        m.AddOption(new CoapOption(number, ReadOnlyMemory<byte>.Empty));
        var bytes = CoapSerializer.ToArray(m);
        Assert.Equal(Hex("40 01 00 00 " + optionHex), bytes);
        var back = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(bytes, back));
        Assert.Equal(number, Assert.Single(back.Options).Number);
    }

    [Theory]
    [InlineData(12, "0c")]
    [InlineData(13, "0d 00")]
    [InlineData(268, "0d ff")]
    [InlineData(269, "0e 00 00")]
    [InlineData(65804, "0e ff ff")] // the largest encodable length: 0xFFFF + 269
    public void Option_lengths_use_the_shortest_form_up_to_65804(int length, string headerHex)
    {
        var value = new byte[length];
        value.AsSpan().Fill(0x5A);
        var m = new CoapMessage { Code = CoapCode.Get };
        m.AddOption(new CoapOption(0, value)); // option 0 (a reserved number, but encodable): delta 0
        var bytes = CoapSerializer.ToArray(m);
        var header = Hex(headerHex);
        Assert.Equal(header, bytes.AsSpan(4, header.Length).ToArray());
        Assert.Equal(4 + header.Length + length, bytes.Length);
        var back = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(bytes, back));
        Assert.Equal(length, Assert.Single(back.Options).Value.Length);
    }

    [Fact]
    public void Values_that_cannot_be_encoded_are_refused_by_the_serializer()
    {
        var tooLong = new CoapMessage { Code = CoapCode.Get };
        tooLong.AddOption(new CoapOption(1, new byte[65805]));
        Assert.Throws<InvalidOperationException>(() => CoapSerializer.ToArray(tooLong));

        var tooHigh = new CoapMessage { Code = CoapCode.Get };
        tooHigh.AddOption(new CoapOption(65536, ReadOnlyMemory<byte>.Empty));
        Assert.Throws<InvalidOperationException>(() => CoapSerializer.ToArray(tooHigh));

        var longToken = new CoapMessage { Code = CoapCode.Get, Token = new byte[9] };
        Assert.Throws<InvalidOperationException>(() => CoapSerializer.ToArray(longToken));
    }

    [Theory]
    [InlineData("40 01 00 01 e0 ff ff")]        // delta 65804: option number above 65535
    [InlineData("40 01 00 01 e0 fe f2 e0 00 00")] // 65535, then +269
    [InlineData("40 01 00 01 0e ff")]           // two-byte extended length cut short
    [InlineData("40 01 00 01 0e ff ff 00")]     // 65804-byte value, one byte present
    [InlineData("40 01 00 01 ff")]              // payload marker with nothing after it
    [InlineData("40 01 00 01 b1 61 ff")]        // the same after an option
    [InlineData("40 01 00 01 f1 00")]           // delta nibble 15 not as 0xFF
    [InlineData("40 01 00 01 1f")]              // length nibble 15
    public void Malformed_option_sections_are_format_errors(string hex)
    {
        Assert.Equal(CoapParseError.BadOptions, CoapParser.TryParse(Hex(hex), new CoapMessage()));
    }

    [Theory]
    [InlineData("00 01 00 01")] // version 0
    [InlineData("c0 01 00 01")] // version 3
    [InlineData("40 01 00")]    // three bytes
    [InlineData("")]
    public void Anything_that_is_not_version_1_with_a_full_header_is_not_coap(string hex)
    {
        var error = CoapParser.TryParse(Hex(hex), new CoapMessage());
        Assert.Equal(CoapParseError.NotCoap, error);
        Assert.False(error.IsHeaderReadable());
    }

    [Theory]
    [InlineData("4f 01 12 34", CoapParseError.BadTokenLength)]
    [InlineData("49 01 12 34 01 02 03 04 05 06 07 08 09", CoapParseError.BadTokenLength)]
    [InlineData("40 e0 12 34", CoapParseError.ReservedCodeClass)]
    [InlineData("40 01 12 34 ff", CoapParseError.BadOptions)]
    [InlineData("40 00 12 34 ff 01", CoapParseError.BadEmptyMessage)]
    public void Format_errors_keep_the_header_readable_for_a_reset(string hex, CoapParseError expected)
    {
        var bytes = Hex(hex);
        var error = CoapParser.TryParse(bytes, new CoapMessage());
        Assert.Equal(expected, error);
        Assert.True(error.IsHeaderReadable());
        var reader = new CoapReader(bytes);
        Assert.True(reader.IsHeaderReadable);
        Assert.Equal(0x1234, reader.MessageId);
    }

    [Fact]
    public void Token_lengths_0_to_8_are_valid()
    {
        for (var tkl = 0; tkl <= 8; tkl++)
        {
            var m = new CoapMessage { Code = CoapCode.Get, Token = Enumerable.Range(1, tkl).Select(i => (byte)i).ToArray() };
            var back = new CoapMessage();
            Assert.Equal(CoapParseError.None, CoapParser.TryParse(CoapSerializer.ToArray(m), back));
            Assert.Equal(tkl, back.Token.Length);
        }
    }

    [Fact]
    public void The_buffer_writer_overload_writes_exactly_the_message()
    {
        var m = new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Post, MessageId = 9, Token = new byte[] { 1 }, Payload = new byte[] { 42 } }
            .SetUriPath("/telemetry");
        var writer = new ArrayBufferWriter<byte>();
        writer.Write(new byte[] { 0xEE }); // something already in the buffer stays
        var written = CoapSerializer.Write(m, writer);
        Assert.Equal(CoapSerializer.GetLength(m), written);
        Assert.Equal([0xEE, .. CoapSerializer.ToArray(m)], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Try_write_refuses_a_destination_that_is_too_small()
    {
        var m = new CoapMessage { Code = CoapCode.Get }.SetUriPath("/a");
        Assert.False(CoapSerializer.TryWrite(m, new byte[CoapSerializer.GetLength(m) - 1], out var written));
        Assert.Equal(0, written);
        Assert.True(CoapSerializer.TryWrite(m, new byte[CoapSerializer.GetLength(m)], out written));
    }

    [Fact]
    public void Options_added_out_of_order_are_written_sorted_and_repeats_keep_their_order()
    {
        var m = new CoapMessage { Code = CoapCode.Get };
        m.AddQuery("b=2");
        m.AddOption(CoapOption.FromString(CoapOptionNumber.UriPath, "x"));
        m.AddQuery("a=1");
        m.AddOption(CoapOption.FromString(CoapOptionNumber.UriPath, "y"));
        var back = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(CoapSerializer.ToArray(m), back));
        Assert.Equal([11, 11, 15, 15], back.Options.Select(o => o.Number));
        Assert.Equal("/x/y", back.GetUriPath());
        Assert.Equal("b=2&a=1", back.GetUriQuery());
    }

    [Fact]
    public void Codes_print_as_class_dot_detail()
    {
        Assert.Equal("2.05", CoapCode.Content.ToString());
        Assert.Equal("2.31", CoapCode.Continue.ToString());
        Assert.Equal("4.08", CoapCode.RequestEntityIncomplete.ToString());
        Assert.Equal("4.13", CoapCode.RequestEntityTooLarge.ToString());
        Assert.Equal("4.15", CoapCode.UnsupportedContentFormat.ToString());
        Assert.Equal("5.03", CoapCode.ServiceUnavailable.ToString());
        Assert.Equal("0.01", CoapCode.Get.ToString());
        Assert.True(CoapCode.BadOption.IsClientError);
        Assert.True(CoapCode.ServiceUnavailable.IsServerError);
        Assert.Equal(0x45, CoapCode.Content.Value);
    }

    [Theory]
    [InlineData(ContentFormats.TextPlain, "text/plain;charset=utf-8")]
    [InlineData(ContentFormats.LinkFormat, "application/link-format")]
    [InlineData(ContentFormats.Xml, "application/xml")]
    [InlineData(ContentFormats.OctetStream, "application/octet-stream")]
    [InlineData(ContentFormats.Exi, "application/exi")]
    [InlineData(ContentFormats.Json, "application/json")]
    [InlineData(ContentFormats.Cbor, "application/cbor")]
    [InlineData(ContentFormats.SenmlJson, "application/senml+json")]
    public void Content_formats_map_to_their_media_types(int format, string mediaType)
    {
        Assert.Equal(mediaType, ContentFormats.MediaType(format));
    }
}
