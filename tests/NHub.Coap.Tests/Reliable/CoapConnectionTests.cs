using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Reliable;

/// <summary>
/// RFC 8323 connections over the unchanged message layer: a <see cref="CoapConnection"/> between frames and a real
/// <see cref="CoapServer{TPeer}"/>, with the transport played by hand. No sockets.
/// </summary>
public sealed class CoapConnectionTests
{
    [Fact]
    public void The_csm_goes_first()
    {
        var c = new Harness();
        c.Connection.Start();
        var csm = c.NextSignal();
        Assert.Equal(CoapSignalCode.Csm, csm.Code);
        Assert.Equal(4096u, csm.MaxMessageSize);
        Assert.False(csm.BlockWiseTransfer);
    }

    [Fact]
    public void A_request_before_the_peers_csm_aborts_the_connection()
    {
        var c = new Harness();
        c.Connection.Start();
        c.NextSignal();
        Assert.False(c.Connection.OnBytes(c.Request(CoapCode.Get, "/hello", [1])));
        var abort = c.NextSignal();
        Assert.Equal(CoapSignalCode.Abort, abort.Code);
        Assert.Contains("CSM", abort.Diagnostic);
        Assert.Equal("no_csm", c.ClosedWith);
        Assert.Equal(0, c.Delivered);
    }

    [Fact]
    public async Task A_request_is_answered_with_a_frame_carrying_its_token_and_no_message_id()
    {
        var c = Harness.Connected();
        c.Connection.OnBytes(c.Request(CoapCode.Get, "/hello", [0xCA, 0xFE]));
        var response = await c.NextResponseAsync();
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal(new byte[] { 0xCA, 0xFE }, response.Token.ToArray());
        Assert.Equal("hello", System.Text.Encoding.UTF8.GetString(response.Payload.Span));
    }

    [Fact]
    public async Task Frames_split_at_every_byte_and_packed_together_are_all_served()
    {
        var c = Harness.Connected();
        var one = c.Request(CoapCode.Get, "/hello", [1]);
        var two = c.Request(CoapCode.Get, "/hello", [2]);
        var stream = one.Concat(two).ToArray();
        foreach (var b in stream)
        {
            Assert.True(c.Connection.OnBytes([b]));
        }
        c.Connection.OnBytes(stream);
        var tokens = new List<byte>();
        for (var i = 0; i < 4; i++)
        {
            tokens.Add((await c.NextResponseAsync()).Token.Span[0]);
        }
        Assert.Equal(new byte[] { 1, 1, 2, 2 }, tokens.Order().ToArray());
    }

    [Fact]
    public async Task The_same_request_twice_is_processed_twice_there_is_no_deduplication_on_a_reliable_transport()
    {
        var c = Harness.Connected();
        var post = c.Request(CoapCode.Post, "/count", [7]);
        c.Connection.OnBytes(post);
        c.Connection.OnBytes(post);
        Assert.Equal("1", (await c.NextResponseAsync()).PayloadText());
        Assert.Equal("2", (await c.NextResponseAsync()).PayloadText());
    }

    [Fact]
    public void Ping_is_answered_with_pong_and_its_token()
    {
        var c = Harness.Connected();
        c.Connection.OnBytes(c.Frame(CoapSignaling.Ping(new byte[] { 0x42 })));
        var pong = c.NextSignal();
        Assert.Equal(CoapSignalCode.Pong, pong.Code);
        Assert.Equal(new byte[] { 0x42 }, pong.Token.ToArray());
    }

    [Fact]
    public void Empty_messages_are_ignored()
    {
        var c = Harness.Connected();
        Assert.True(c.Connection.OnBytes([0x00, 0x00]));
        Assert.Equal(0, c.Delivered);
        Assert.True(c.NothingWritten);
    }

    [Fact]
    public void A_confirmable_from_the_layer_is_acknowledged_once_written_and_never_written_twice()
    {
        var c = Harness.Connected();
        var notification = CoapSerializer.ToArray(new CoapMessage
        {
            Type = CoapMessageType.Confirmable, Code = CoapCode.Content, MessageId = 0x0777, Token = new byte[] { 5 }, Payload = "x"u8.ToArray(),
        });
        Assert.True(c.Connection.Send(notification));
        Assert.True(c.Connection.Send(notification)); // the layer's retransmission: still queued, not written again
        var (frame, acknowledge) = c.NextWrite();
        Assert.Equal(0x0777, acknowledge);
        Assert.Equal(CoapCode.Content, CoapFraming.CodeOf(frame, CoapFramingKind.Tcp));
        Assert.True(c.NothingWritten);
        c.Connection.OnWritten(acknowledge);
        Assert.Equal(new byte[] { 0x60, 0x00, 0x07, 0x77 }, c.LastDelivered);
        c.Connection.OnWritten(acknowledge); // once only
        Assert.Equal(1, c.Delivered);
    }

    [Fact]
    public void An_empty_ack_from_the_layer_is_not_sent_and_its_rst_aborts()
    {
        var c = Harness.Connected();
        Assert.True(c.Connection.Send([0x60, 0x00, 0x00, 0x01]));
        Assert.True(c.NothingWritten);
        c.Connection.Send([0x70, 0x00, 0x00, 0x01]);
        Assert.Equal(CoapSignalCode.Abort, c.NextSignal().Code);
        Assert.Equal("malformed", c.ClosedWith);
    }

    [Fact]
    public void A_malformed_request_is_a_connection_error()
    {
        var c = Harness.Connected();
        // GET with a truncated option (delta 1, length 5, 1 value byte): the layer answers RST, the connection aborts.
        byte[] frame = [0x21, 0x01, 0x01, 0x15, 0x61];
        c.Connection.OnBytes(frame);
        Assert.Equal(CoapSignalCode.Abort, c.NextSignal().Code);
        Assert.True(c.Connection.IsClosed);
    }

    [Fact]
    public void A_frame_over_the_announced_size_aborts()
    {
        var c = Harness.Connected();
        var big = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, Payload = new byte[5000] }.SetUriPath("/count");
        Assert.False(c.Connection.OnBytes(c.Frame(CoapSerializer.ToArray(big))));
        var abort = c.NextSignal();
        Assert.Equal(CoapSignalCode.Abort, abort.Code);
        Assert.Equal("too_large", c.ClosedWith);
    }

    [Fact]
    public void Nothing_larger_than_the_peers_max_message_size_is_sent()
    {
        var c = Harness.Connected(peerMaxMessageSize: 64);
        var response = CoapSerializer.ToArray(new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Content, Payload = new byte[100] });
        Assert.False(c.Connection.Send(response));
        Assert.True(c.NothingWritten);
    }

    [Fact]
    public void A_csm_with_an_unknown_critical_option_aborts_naming_it()
    {
        var c = new Harness();
        var csm = new CoapMessage { Code = CoapSignalCode.Csm, Type = CoapMessageType.NonConfirmable };
        csm.AddOption(new CoapOption(11, ReadOnlyMemory<byte>.Empty));
        c.Connection.OnBytes(c.Frame(CoapSerializer.ToArray(csm)));
        var abort = c.NextSignal();
        Assert.Equal(CoapSignalCode.Abort, abort.Code);
        Assert.Equal("bad_csm", c.ClosedWith);
    }

    [Theory]
    [InlineData(true, "peer_release")]
    [InlineData(false, "peer_abort")]
    public void Release_and_abort_from_the_peer_close(bool release, string reason)
    {
        var c = Harness.Connected();
        c.Connection.OnBytes(c.Frame(release ? CoapSignaling.Release("bye") : CoapSignaling.Abort("bye")));
        Assert.Equal(reason, c.ClosedWith);
        Assert.Equal("bye", c.Connection.CloseDetail);
        Assert.False(c.Connection.OnBytes(c.Request(CoapCode.Get, "/hello", [1])));
        Assert.Equal(0, c.Delivered);
    }

    [Fact]
    public async Task Websocket_messages_are_one_frame_each()
    {
        var c = Harness.Connected(CoapFramingKind.WebSocket);
        Assert.True(c.Connection.OnMessage(c.Request(CoapCode.Get, "/hello", [3])));
        var response = await c.NextResponseAsync();
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal((byte)0, (byte)(c.LastFrame![0] >> 4)); // §4.2: Len is 0
    }

    [Fact]
    public async Task A_slow_handler_gets_one_response_frame_and_no_empty_ack_on_the_wire()
    {
        var c = Harness.Connected();
        c.Connection.OnBytes(c.Request(CoapCode.Get, "/slow", [9]));
        // The layer acknowledges after SeparateResponseAfter (an empty ACK: dropped) and sends the response as a CON.
        // Its timer was started before OnBytes returned (the handler is pending), so advancing the clock fires it.
        Assert.Equal(1, c.Server.InFlight);
        c.Time.Advance(TimeSpan.FromSeconds(2));
        c.ReleaseSlow.TrySetResult();
        var (frame, acknowledge) = await c.NextWriteAsync();
        Assert.Equal(CoapCode.Content, CoapFraming.CodeOf(frame, CoapFramingKind.Tcp));
        Assert.NotEqual(-1, acknowledge);
        c.Connection.OnWritten(acknowledge);
        Assert.True(c.NothingWritten);
    }

    private sealed class Harness : ICoapConnectionHost
    {
        private readonly Channel<(byte[] Frame, int Acknowledge)> _writes = Channel.CreateUnbounded<(byte[], int)>();
        private int _count;

        public Harness(CoapFramingKind kind = CoapFramingKind.Tcp)
        {
            Kind = kind;
            var router = new CoapRouter<string>()
                .Map(CoapCode.Get, "/hello", _ => ValueTask.FromResult(CoapResponse.Text(CoapCode.Content, "hello")))
                .Map(CoapCode.Post, "/count", _ => ValueTask.FromResult(CoapResponse.Text(CoapCode.Changed, Interlocked.Increment(ref _count).ToString())))
                .Map(CoapCode.Get, "/slow", async _ =>
                {
                    await ReleaseSlow.Task;
                    return CoapResponse.Text(CoapCode.Content, "slow");
                });
            Server = new CoapServer<string>(new CoapServerOptions(), router, (_, bytes) => Connection!.Send(bytes.Span), Time, reliableTransport: true);
            Connection = new CoapConnection(kind, this, maxMessageSize: 4096);
        }

        public CoapFramingKind Kind { get; }
        public FakeTimeProvider Time { get; } = new();
        public CoapServer<string> Server { get; }
        public CoapConnection Connection { get; }
        public TaskCompletionSource ReleaseSlow { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Delivered { get; private set; }
        public byte[]? LastDelivered { get; private set; }
        public byte[]? LastFrame { get; private set; }
        public string? ClosedWith { get; private set; }
        public bool NothingWritten => !_writes.Reader.TryPeek(out _);

        public static Harness Connected(CoapFramingKind kind = CoapFramingKind.Tcp, uint peerMaxMessageSize = 1152)
        {
            var h = new Harness(kind);
            h.Connection.Start();
            h.NextSignal();
            var csm = h.Frame(CoapSignaling.Csm(peerMaxMessageSize, false));
            Assert.True(kind == CoapFramingKind.Tcp ? h.Connection.OnBytes(csm) : h.Connection.OnMessage(csm));
            return h;
        }

        public void Deliver(ReadOnlyMemory<byte> datagram)
        {
            Delivered++;
            LastDelivered = datagram.ToArray();
            Server.OnDatagram("peer", datagram.Span);
        }

        public bool Write(byte[] frame, int acknowledge)
        {
            LastFrame = frame;
            return _writes.Writer.TryWrite((frame, acknowledge));
        }

        public void Close(string reason) => ClosedWith = reason;

        public byte[] Frame(byte[] datagram)
        {
            var frame = new byte[CoapFraming.FrameLength(datagram, Kind)];
            CoapFraming.TryFromDatagram(datagram, Kind, frame, out _);
            return frame;
        }

        public byte[] Request(CoapCode code, string path, byte[] token) =>
            Frame(CoapSerializer.ToArray(new CoapMessage { Type = CoapMessageType.Confirmable, Code = code, Token = token }.SetUriPath(path)));

        public (byte[] Frame, int Acknowledge) NextWrite() => _writes.Reader.TryRead(out var w) ? w : throw new InvalidOperationException("nothing written");

        public async Task<(byte[] Frame, int Acknowledge)> NextWriteAsync() => await _writes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        public CoapSignal NextSignal()
        {
            var (frame, _) = NextWrite();
            Assert.Equal(CoapParseError.None, CoapSignaling.TryParse(ToDatagram(frame), out var signal));
            return signal;
        }

        public async Task<CoapMessage> NextResponseAsync()
        {
            var (frame, _) = await NextWriteAsync();
            var message = new CoapMessage();
            Assert.Equal(CoapParseError.None, CoapParser.TryParse(ToDatagram(frame), message));
            return message;
        }

        private byte[] ToDatagram(byte[] frame)
        {
            var datagram = new byte[CoapFraming.DatagramLength(frame, Kind)];
            Assert.True(CoapFraming.TryToDatagram(frame, Kind, CoapMessageType.NonConfirmable, 0, datagram, out _));
            return datagram;
        }
    }
}

internal static class CoapMessageText
{
    public static string PayloadText(this CoapMessage message) => System.Text.Encoding.UTF8.GetString(message.Payload.Span);
}
