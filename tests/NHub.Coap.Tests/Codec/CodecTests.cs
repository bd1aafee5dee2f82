using System.Text;

namespace NHub.Coap.Tests.Codec;

public sealed class CodecTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private static CoapMessage Parse(byte[] bytes)
    {
        var m = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(bytes, m));
        return m;
    }

    [Fact]
    public void Rfc7252_appendix_A_confirmable_get_with_piggybacked_response_is_byte_exact()
    {
        // Figure 16 (A.1 in spirit): CON [0x7d34] GET /temperature, no token.
        // 0x40 = Ver 1, T 0 (CON), TKL 0; 0x01 = GET; Uri-Path (11) length 11 → 0xBB.
        var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Get, MessageId = 0x7d34 }.SetUriPath("/temperature");
        Assert.Equal(Hex("40 01 7d 34 bb") .Concat(Encoding.ASCII.GetBytes("temperature")).ToArray(), CoapSerializer.ToArray(request));

        // ACK [0x7d34] 2.05 Content "22.3 C": 0x60 = Ver 1, T 2 (ACK); 0x45 = 2.05; payload marker 0xFF.
        var response = new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Content, MessageId = 0x7d34, Payload = Encoding.ASCII.GetBytes("22.3 C") };
        Assert.Equal(Hex("60 45 7d 34 ff").Concat(Encoding.ASCII.GetBytes("22.3 C")).ToArray(), CoapSerializer.ToArray(response));
    }

    [Fact]
    public void Token_and_options_round_trip_with_the_rfc_field_values()
    {
        // Figure 17 style: CON GET with token 0x20 and Uri-Path "temperature"; then options in ascending order.
        var m = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = 0x1234, Token = new byte[] { 0x20, 0x21, 0x22, 0x23 } }
            .SetUriPath("/telemetry");
        m.AddQuery("id=test-001");
        m.ContentFormat = ContentFormats.Json;
        m.Payload = Encoding.UTF8.GetBytes("{\"temperature\":23.5}");
        var bytes = CoapSerializer.ToArray(m);
        Assert.Equal(0x44, bytes[0]);
        Assert.Equal(0x02, bytes[1]);

        var back = Parse(bytes);
        Assert.Equal("/telemetry", back.GetUriPath());
        Assert.Equal("test-001", back.GetQueryParameter("id"));
        Assert.Equal(ContentFormats.Json, back.ContentFormat);
        Assert.Equal(m.Token.ToArray(), back.Token.ToArray());
        Assert.Equal("{\"temperature\":23.5}", Encoding.UTF8.GetString(back.Payload.Span));
        Assert.Equal(bytes, CoapSerializer.ToArray(back));
    }

    [Theory]
    [InlineData(12, 12)]
    [InlineData(13, 13)]
    [InlineData(268, 268)]
    [InlineData(269, 269)]
    [InlineData(1034, 1000)]
    [InlineData(65000, 0)]
    public void Extended_option_deltas_and_lengths_round_trip(int number, int length)
    {
        var value = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
        var m = new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Get, MessageId = 7 };
        m.AddOption(new CoapOption(1, new byte[] { 1 }));
        m.AddOption(new CoapOption(number, value));
        var back = Parse(CoapSerializer.ToArray(m));
        Assert.Equal(2, back.Options.Count);
        Assert.Equal(number, back.Options[1].Number);
        Assert.Equal(value, back.Options[1].Value.ToArray());
    }

    [Fact]
    public void Delta_13_and_14_use_one_and_two_extension_bytes()
    {
        // §3.1: delta 13 → nibble 13 + (13-13)=0x00; delta 269 → nibble 14 + 0x0000.
        var m13 = new CoapMessage { Code = CoapCode.Get };
        m13.AddOption(new CoapOption(13, ReadOnlyMemory<byte>.Empty));
        Assert.Equal(Hex("40 01 00 00 d0 00"), CoapSerializer.ToArray(m13));
        var m269 = new CoapMessage { Code = CoapCode.Get };
        m269.AddOption(new CoapOption(269, ReadOnlyMemory<byte>.Empty));
        Assert.Equal(Hex("40 01 00 00 e0 00 00"), CoapSerializer.ToArray(m269));
    }

    [Theory]
    [InlineData("40 01 00", CoapParseError.NotCoap)]                  // shorter than the header
    [InlineData("80 01 00 01", CoapParseError.NotCoap)]               // version 2
    [InlineData("49 01 00 01 01 02 03 04 05 06 07 08 09", CoapParseError.BadTokenLength)] // TKL 9
    [InlineData("40 01 00 01 f0", CoapParseError.BadOptions)]         // option delta nibble 15 that is not 0xFF
    [InlineData("40 01 00 01 0f", CoapParseError.BadOptions)]         // option length nibble 15
    [InlineData("40 01 00 01 ff", CoapParseError.BadOptions)]         // payload marker, empty payload
    [InlineData("40 01 00 01 b5 61 62", CoapParseError.BadOptions)]   // option value truncated
    [InlineData("40 01 00 01 d1", CoapParseError.BadOptions)]         // extended delta byte missing
    [InlineData("41 00 00 01 aa", CoapParseError.BadEmptyMessage)]    // 0.00 with a token (§4.1)
    [InlineData("40 20 00 01", CoapParseError.ReservedCodeClass)]     // class 1
    [InlineData("42 01 00 01 aa", CoapParseError.BadOptions)]         // token shorter than TKL
    public void Malformed_messages_are_reported_not_thrown(string hex, CoapParseError expected)
    {
        Assert.Equal(expected, CoapParser.TryParse(Hex(hex), new CoapMessage()));
    }

    [Fact]
    public void The_header_of_an_unparseable_confirmable_is_still_readable_for_the_reset()
    {
        var bytes = Hex("40 01 12 34 f0");
        Assert.True(CoapParser.TryReadHeader(bytes, out var type, out var mid));
        Assert.Equal(CoapMessageType.Confirmable, type);
        Assert.Equal(0x1234, mid);
    }

    [Fact]
    public void An_unknown_critical_option_is_reported_and_an_unknown_elective_one_ignored()
    {
        var m = new CoapMessage { Code = CoapCode.Get };
        m.AddOption(new CoapOption(2048, new byte[] { 1 })); // even: elective, unknown
        Assert.Null(CoapParser.FindBadCriticalOption(m));
        m.AddOption(new CoapOption(9, new byte[] { 1 }));    // odd: critical, unknown
        Assert.Equal(9, CoapParser.FindBadCriticalOption(m));
    }

    [Fact]
    public void A_repeated_non_repeatable_critical_option_is_bad()
    {
        var m = new CoapMessage { Code = CoapCode.Get };
        m.AddOption(CoapOption.FromUInt(CoapOptionNumber.UriPort, 1));
        m.AddOption(CoapOption.FromUInt(CoapOptionNumber.UriPort, 2));
        Assert.Equal(CoapOptionNumber.UriPort, CoapParser.FindBadCriticalOption(m));
    }

    [Theory]
    [InlineData(0u, "")]
    [InlineData(1u, "01")]
    [InlineData(255u, "ff")]
    [InlineData(256u, "0100")]
    [InlineData(0x1234567u, "01234567")]
    public void Uint_options_use_the_minimal_length(uint value, string hex)
    {
        Assert.Equal(Convert.FromHexString(hex), CoapOption.FromUInt(CoapOptionNumber.MaxAge, value).Value.ToArray());
        Assert.Equal(value, CoapOption.FromUInt(CoapOptionNumber.MaxAge, value).GetUInt());
    }

    [Fact]
    public void Block_options_encode_num_more_and_szx_and_reject_szx_7()
    {
        var block = new BlockOption(5, true, 6);
        Assert.Equal((5u << 4) | 8u | 6u, block.Encode());
        Assert.Equal(1024, block.Size);
        Assert.Equal(5 * 1024, block.Offset);
        Assert.True(BlockOption.TryDecode(new byte[] { 0x5E }, out var decoded));
        Assert.Equal(block, decoded);
        Assert.False(BlockOption.TryDecode(new byte[] { 0x07 }, out _));
        Assert.False(BlockOption.TryDecode(new byte[] { 1, 2, 3, 4 }, out _));
        Assert.Equal(5, BlockOption.ExponentFor(512));
        Assert.Equal(6, BlockOption.ExponentFor(1024));
        Assert.Equal(0, BlockOption.ExponentFor(16));
    }

    [Fact]
    public void Query_parameters_distinguish_absent_empty_and_present()
    {
        var m = new CoapMessage { Code = CoapCode.Post };
        Assert.Null(m.GetQueryParameter("id"));
        m.AddQuery("id=");
        Assert.Equal("", m.GetQueryParameter("id"));
        var n = new CoapMessage { Code = CoapCode.Post };
        n.AddQuery("idx=1");
        n.AddQuery("id=abc");
        Assert.Equal("abc", n.GetQueryParameter("id"));
    }
}
