namespace NHub.Coap.Tests.Codec;

public sealed class CoapReaderTests
{
    private static byte[] TelemetryPost()
    {
        var m = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = 0xBEEF, Token = new byte[] { 9, 8, 7, 6 } }
            .SetUriPath("/telemetry");
        m.AddQuery("id=dev-1");
        m.ContentFormat = ContentFormats.Json;
        m.Payload = "{\"t\":1}"u8.ToArray();
        return CoapSerializer.ToArray(m);
    }

    [Fact]
    public void Reads_header_options_with_their_offsets_and_the_payload()
    {
        var bytes = TelemetryPost();
        var reader = new CoapReader(bytes);
        Assert.Equal(CoapParseError.None, reader.Error);
        Assert.True(reader.IsHeaderReadable);
        Assert.Equal(CoapMessageType.Confirmable, reader.Type);
        Assert.Equal(CoapCode.Post, reader.Code);
        Assert.Equal(0xBEEF, reader.MessageId);
        Assert.Equal(new byte[] { 9, 8, 7, 6 }, reader.Token.ToArray());

        var seen = new List<(int Number, int Offset, int Length)>();
        while (reader.TryReadOption(out var number, out var value))
        {
            seen.Add((number, reader.ValueOffset, value.Length));
            // The offset addresses the same bytes in the original buffer: (number, offset, length) is enough to keep.
            Assert.True(value.SequenceEqual(bytes.AsSpan(reader.ValueOffset, value.Length)));
        }
        Assert.Equal(CoapParseError.None, reader.Error);
        Assert.Equal([11, 12, 15], seen.Select(s => s.Number));
        Assert.Equal("{\"t\":1}"u8.ToArray(), reader.Payload.ToArray());
        Assert.Equal(bytes.Length - 7, reader.PayloadOffset);
    }

    [Fact]
    public void Stops_at_the_first_malformed_option_and_reports_it()
    {
        var reader = new CoapReader(Convert.FromHexString("4001000111610F"));
        Assert.True(reader.TryReadOption(out var number, out _));
        Assert.Equal(1, number);
        Assert.False(reader.TryReadOption(out _, out _));
        Assert.Equal(CoapParseError.BadOptions, reader.Error);
        Assert.False(reader.TryReadOption(out _, out _));
    }

    [Fact]
    public void A_message_without_options_or_payload_reads_empty()
    {
        var reader = new CoapReader(Convert.FromHexString("60007d34"));
        Assert.False(reader.TryReadOption(out _, out _));
        Assert.Equal(CoapParseError.None, reader.Error);
        Assert.True(reader.Payload.IsEmpty);
        Assert.True(reader.Code.IsEmpty);
    }

    [Fact]
    public void Not_coap_exposes_no_header()
    {
        var reader = new CoapReader([0x80, 1, 2, 3]);
        Assert.False(reader.IsHeaderReadable);
        Assert.Equal(CoapParseError.NotCoap, reader.Error);
        Assert.True(reader.Token.IsEmpty);
        Assert.False(reader.TryReadOption(out _, out _));
    }
}
