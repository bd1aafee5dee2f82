namespace NHub.Coap.Tests.Codec;

public sealed class CoapMessageOptionsTests
{
    private static CoapMessage RoundTrip(CoapMessage m)
    {
        var back = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(CoapSerializer.ToArray(m), back));
        return back;
    }

    [Fact]
    public void Typed_options_round_trip()
    {
        var m = new CoapMessage
        {
            Type = CoapMessageType.Confirmable,
            Code = CoapCode.Put,
            UriHost = "gw.example",
            UriPort = 5683,
            ContentFormat = ContentFormats.Cbor,
            Accept = ContentFormats.Json,
            MaxAge = 30,
            Size1 = 4000,
            Size2 = 0,
            Observe = 0x00ABCDEF,
            Block1 = new BlockOption(3, true, 4),
            Block2 = new BlockOption(0, false, 6),
            IfNoneMatch = true,
            ProxyScheme = "coap",
            NoResponse = 26,
        };
        m.SetUriPath("/firmware/1.2.3").AddQuery("a=1");
        m.AddETag(new byte[] { 1, 2 }).AddETag(new byte[] { 3 });
        m.AddIfMatch(new byte[] { 7 });
        m.SetLocationPath("/x/y").AddLocationQuery("q=1");

        var back = RoundTrip(m);
        Assert.Equal("gw.example", back.UriHost);
        Assert.Equal((ushort)5683, back.UriPort);
        Assert.Equal(ContentFormats.Cbor, back.ContentFormat);
        Assert.Equal(ContentFormats.Json, back.Accept);
        Assert.Equal(30u, back.MaxAge);
        Assert.Equal(4000u, back.Size1);
        Assert.Equal(0u, back.Size2);
        Assert.Equal(0x00ABCDEFu, back.Observe);
        Assert.Equal(new BlockOption(3, true, 4), back.Block1);
        Assert.Equal(new BlockOption(0, false, 6), back.Block2);
        Assert.True(back.IfNoneMatch);
        Assert.Equal("coap", back.ProxyScheme);
        Assert.Null(back.ProxyUri);
        Assert.Equal((byte)26, back.NoResponse);
        Assert.Equal("/firmware/1.2.3", back.GetUriPath());
        Assert.True(back.UriPathEquals("/firmware/1.2.3"));
        Assert.False(back.UriPathEquals("/firmware"));
        Assert.False(back.UriPathEquals("/firmware/1.2.3/x"));
        Assert.Equal("a=1", back.GetUriQuery());
        Assert.Equal([new byte[] { 1, 2 }, [3]], ToArrays(back.GetAll(CoapOptionNumber.ETag)));
        Assert.Equal(2, back.GetAll(CoapOptionNumber.ETag).Count);
        Assert.Equal(new byte[] { 1, 2 }, back.ETag.ToArray());
        Assert.Equal([new byte[] { 7 }], ToArrays(back.GetAll(CoapOptionNumber.IfMatch)));
        Assert.Equal("/x/y", back.GetLocationPath());
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(CoapSerializer.ToArray(back), new CoapMessage()));
    }

    [Fact]
    public void Setting_null_removes_an_option()
    {
        var m = new CoapMessage { ContentFormat = 50, UriHost = "h", IfNoneMatch = true };
        m.ContentFormat = null;
        m.UriHost = null;
        m.IfNoneMatch = false;
        Assert.Empty(m.Options);
    }

    [Fact]
    public void Uint_values_are_minimal_and_zero_is_empty()
    {
        var m = new CoapMessage { ContentFormat = 0, MaxAge = 256 };
        Assert.True(m.TryGetOption(CoapOptionNumber.ContentFormat, out var cf));
        Assert.Equal(0, cf.Value.Length);
        Assert.True(m.TryGetOption(CoapOptionNumber.MaxAge, out var age));
        Assert.Equal(new byte[] { 1, 0 }, age.Value.ToArray());
    }

    [Fact]
    public void A_repeated_non_repeatable_elective_option_is_ignored_as_unrecognized()
    {
        // RFC 7252 §5.4.5: a non-repeatable option occurring more than once is treated like an unrecognized option;
        // Content-Format (12) is elective, so it is simply ignored (§5.4.1).
        var m = new CoapMessage { Code = CoapCode.Post };
        m.AddOption(CoapOption.FromUInt(CoapOptionNumber.ContentFormat, 50));
        m.AddOption(CoapOption.FromUInt(CoapOptionNumber.ContentFormat, 60));
        Assert.Null(m.ContentFormat);
        Assert.Null(CoapParser.FindBadCriticalOption(m));
    }

    [Fact]
    public void An_elective_option_with_a_bad_length_is_ignored_and_a_critical_one_is_bad()
    {
        // §5.4.3: a length outside the §5.10 bounds is treated like an unrecognized option.
        var m = new CoapMessage { Code = CoapCode.Get };
        m.AddOption(new CoapOption(CoapOptionNumber.MaxAge, new byte[] { 1, 2, 3, 4, 5 })); // elective, max 4 bytes
        Assert.Null(m.MaxAge);
        Assert.Null(CoapParser.FindBadCriticalOption(m));
        m.AddOption(new CoapOption(CoapOptionNumber.UriPort, new byte[] { 1, 2, 3 }));      // critical, max 2 bytes
        Assert.Null(m.UriPort);
        Assert.Equal(CoapOptionNumber.UriPort, CoapParser.FindBadCriticalOption(m));
    }

    [Fact]
    public void A_reserved_block_size_is_reported_as_invalid_not_absent()
    {
        // RFC 7959 §2.2: SZX 7 is reserved; a request carrying it gets 4.00.
        var m = new CoapMessage { Code = CoapCode.Get };
        m.AddOption(new CoapOption(CoapOptionNumber.Block2, new byte[] { 0x17 }));
        Assert.Null(m.Block2);
        Assert.False(m.TryGetBlock(CoapOptionNumber.Block2, out _, out var invalid));
        Assert.True(invalid);
    }

    [Theory]
    [InlineData(0u, false, 0, "")]
    [InlineData(0u, true, 0, "08")]
    [InlineData(1u, true, 6, "1e")]
    [InlineData(4096u, false, 2, "01 00 02")]
    [InlineData(1048575u, false, 6, "ff ff f6")]
    public void Block_options_use_zero_to_three_bytes(uint number, bool more, int szx, string hex)
    {
        var m = new CoapMessage { Block2 = new BlockOption(number, more, szx) };
        Assert.True(m.TryGetOption(CoapOptionNumber.Block2, out var o));
        Assert.Equal(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)), o.Value.ToArray());
        Assert.Equal(new BlockOption(number, more, szx), m.Block2);
    }

    [Theory]
    [InlineData((byte)0, "2.05", false)]
    [InlineData((byte)2, "2.05", true)]
    [InlineData((byte)2, "4.04", false)]
    [InlineData((byte)8, "4.04", true)]
    [InlineData((byte)16, "5.03", true)]
    [InlineData((byte)26, "2.04", true)]
    public void No_response_suppresses_the_classes_it_names(byte value, string code, bool suppressed)
    {
        var parts = code.Split('.');
        var m = new CoapMessage { NoResponse = value };
        Assert.Equal(suppressed, m.SuppressesResponse(CoapCode.Create(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture))));
    }

    private static List<byte[]> ToArrays(CoapOptionValues values)
    {
        var list = new List<byte[]>();
        foreach (var v in values)
        {
            list.Add(v.ToArray());
        }
        return list;
    }
}
