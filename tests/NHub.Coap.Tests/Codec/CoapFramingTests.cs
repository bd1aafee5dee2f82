namespace NHub.Coap.Tests.Codec;

/// <summary>RFC 8323 §3.2 (TCP) and §4.2 (WebSocket) framing, and its conversion to and from RFC 7252 datagrams.</summary>
public sealed class CoapFramingTests
{
    // GET, token 0x01, Uri-Path "t": RFC 7252 form 41 01 <mid> 01 B1 74.
    private static readonly byte[] GetDatagram = [0x41, 0x01, 0x12, 0x34, 0x01, 0xB1, 0x74];

    [Fact]
    public void A_small_request_becomes_len_tkl_code_token_options()
    {
        var frame = ToFrame(GetDatagram, CoapFramingKind.Tcp);
        // Len 2 (options and payload: B1 74), TKL 1 | code 0.01 | token | options.
        Assert.Equal(new byte[] { 0x21, 0x01, 0x01, 0xB1, 0x74 }, frame);
        var ws = ToFrame(GetDatagram, CoapFramingKind.WebSocket);
        Assert.Equal(new byte[] { 0x01, 0x01, 0x01, 0xB1, 0x74 }, ws); // §4.2: Len 0, no extended length
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(12, 12, 0)]
    [InlineData(13, 13, 1)]
    [InlineData(268, 13, 1)]
    [InlineData(269, 14, 2)]
    [InlineData(65804, 14, 2)]
    [InlineData(65805, 15, 4)]
    [InlineData(70000, 15, 4)]
    public void Body_lengths_take_the_extended_forms_at_13_269_and_65805(int bodyLength, int nibble, int extendedBytes)
    {
        var datagram = new byte[4 + 2 + bodyLength];
        datagram[0] = 0x42; // Ver 1, CON, TKL 2
        datagram[1] = 0x45; // 2.05
        datagram[4] = 0xAA;
        datagram[5] = 0xBB;
        Random.Shared.NextBytes(datagram.AsSpan(6));
        var frame = ToFrame(datagram, CoapFramingKind.Tcp);
        Assert.Equal(nibble, frame[0] >> 4);
        Assert.Equal(2, frame[0] & 0x0F);
        Assert.Equal(1 + extendedBytes + 1 + 2 + bodyLength, frame.Length);
        Assert.Equal(FrameStatus.Complete, CoapFraming.TryReadFrame(frame, int.MaxValue, out var length));
        Assert.Equal(frame.Length, length);
        Assert.Equal(CoapCode.Content, CoapFraming.CodeOf(frame, CoapFramingKind.Tcp));

        var back = new byte[CoapFraming.DatagramLength(frame, CoapFramingKind.Tcp)];
        Assert.True(CoapFraming.TryToDatagram(frame, CoapFramingKind.Tcp, CoapMessageType.Confirmable, 0x0102, back, out var written));
        Assert.Equal(back.Length, written);
        datagram[2] = 0x01;
        datagram[3] = 0x02;
        Assert.Equal(datagram, back);
    }

    [Fact]
    public void Every_prefix_of_a_frame_needs_more_and_the_whole_is_complete()
    {
        var datagram = new byte[4 + 300];
        datagram[0] = 0x40;
        datagram[1] = 0x02;
        var frame = ToFrame(datagram, CoapFramingKind.Tcp);
        for (var i = 0; i < frame.Length; i++)
        {
            Assert.Equal(FrameStatus.NeedMore, CoapFraming.TryReadFrame(frame.AsSpan(0, i), 4096, out _));
        }
        var two = frame.Concat(frame).ToArray();
        Assert.Equal(FrameStatus.Complete, CoapFraming.TryReadFrame(two, 4096, out var first));
        Assert.Equal(frame.Length, first);
    }

    [Fact]
    public void A_frame_announcing_more_than_the_limit_is_refused_from_its_header()
    {
        // Len 15 with a 4-byte extended length of 2^32-1: refused after 5 bytes, nothing is buffered for it.
        byte[] header = [0xF0, 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.Equal(FrameStatus.TooLarge, CoapFraming.TryReadFrame(header, 1152, out _));
        var big = ToFrame(new byte[4 + 2000].Also(d => d[0] = 0x40), CoapFramingKind.Tcp);
        Assert.Equal(FrameStatus.TooLarge, CoapFraming.TryReadFrame(big, 1152, out _));
        Assert.Equal(FrameStatus.Complete, CoapFraming.TryReadFrame(big, big.Length, out _));
    }

    [Fact]
    public void Token_lengths_9_to_15_are_format_errors()
    {
        Assert.Equal(FrameStatus.BadTokenLength, CoapFraming.TryReadFrame([0x09, 0x01], 1152, out _));
        Assert.Equal(-1, CoapFraming.DatagramLength([0x0F, 0x01], CoapFramingKind.WebSocket));
    }

    [Fact]
    public void A_websocket_frame_with_a_length_nibble_or_a_short_token_is_malformed()
    {
        Assert.Equal(-1, CoapFraming.DatagramLength([0x21, 0x01, 0x01, 0xB1, 0x74], CoapFramingKind.WebSocket));
        Assert.Equal(-1, CoapFraming.DatagramLength([0x04, 0x01, 0x01], CoapFramingKind.WebSocket));
        Assert.Equal(-1, CoapFraming.DatagramLength([0x01], CoapFramingKind.WebSocket));
    }

    [Fact]
    public void A_tcp_frame_whose_length_disagrees_with_its_bytes_is_malformed()
    {
        Assert.Equal(-1, CoapFraming.DatagramLength([0x31, 0x01, 0x01, 0xB1, 0x74], CoapFramingKind.Tcp)); // says 3, has 2
        Assert.False(CoapFraming.TryToDatagram([0x31, 0x01, 0x01, 0xB1], CoapFramingKind.Tcp, CoapMessageType.Confirmable, 1, new byte[64], out _));
    }

    [Fact]
    public void Datagrams_that_are_not_coap_have_no_frame()
    {
        Assert.Equal(-1, CoapFraming.FrameLength([0x81, 0x01, 0, 0], CoapFramingKind.Tcp)); // version 2
        Assert.Equal(-1, CoapFraming.FrameLength([0x48, 0x01, 0, 0], CoapFramingKind.Tcp)); // TKL 8, no token
        Assert.False(CoapFraming.TryFromDatagram(GetDatagram, CoapFramingKind.Tcp, new byte[2], out _));
    }

    [Fact]
    public void A_websocket_round_trip_keeps_token_options_and_payload()
    {
        var message = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = 7, Token = new byte[] { 1, 2, 3, 4 } }
            .SetUriPath("/telemetry").AddQuery("id=meter-1");
        message.ContentFormat = ContentFormats.Json;
        message.Payload = "{\"t\":1}"u8.ToArray();
        var datagram = CoapSerializer.ToArray(message);
        var frame = ToFrame(datagram, CoapFramingKind.WebSocket);
        var back = new byte[CoapFraming.DatagramLength(frame, CoapFramingKind.WebSocket)];
        Assert.True(CoapFraming.TryToDatagram(frame, CoapFramingKind.WebSocket, CoapMessageType.Confirmable, 7, back, out _));
        Assert.Equal(datagram, back);
    }

    private static byte[] ToFrame(byte[] datagram, CoapFramingKind kind)
    {
        var frame = new byte[CoapFraming.FrameLength(datagram, kind)];
        Assert.True(CoapFraming.TryFromDatagram(datagram, kind, frame, out var written));
        Assert.Equal(frame.Length, written);
        return frame;
    }
}

internal static class ArrayExtensions
{
    public static T[] Also<T>(this T[] array, Action<T[]> change)
    {
        change(array);
        return array;
    }
}
