using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>
/// RFC 7959 §3 sequence diagrams replayed message by message. Notation: "2:NUM/M/SIZE" is a Block2 option,
/// "1:NUM/M/SIZE" a Block1 option.
/// </summary>
public sealed class BlockwiseFigureTests
{
    private static byte[] Bytes(int count) => Enumerable.Range(0, count).Select(i => (byte)(i * 7)).ToArray();

    private static CoapMessage GetStatus(ushort mid, BlockOption? block2)
    {
        var m = StackHarness.Con(CoapCode.Get, "/status", mid, [(byte)mid, (byte)(mid >> 8)]);
        m.Block2 = block2;
        return m;
    }

    private static CoapMessage PutOptions(ushort mid, BlockOption block1, byte[] payload)
    {
        var m = StackHarness.Con(CoapCode.Put, "/options", mid, [(byte)mid, (byte)(mid >> 8)]);
        m.Block1 = block1;
        m.Payload = payload;
        return m;
    }

    private static async Task<CoapMessage> Exchange(StackHarness h, CoapMessage request, CoapCode code, BlockOption? block2 = null, BlockOption? block1 = null)
    {
        h.Receive("client", request);
        var response = await h.NextAsync();
        Assert.Equal(CoapMessageType.Acknowledgement, response.Type);
        Assert.Equal(request.MessageId, response.MessageId);
        Assert.Equal(request.Token.ToArray(), response.Token.ToArray());
        Assert.Equal(code, response.Code);
        if (block2 is not null)
        {
            Assert.Equal(block2, response.Block2);
        }
        if (block1 is not null)
        {
            Assert.Equal(block1, response.Block1);
        }
        return response;
    }

    [Fact]
    public async Task Figure_2_simple_block_wise_get()
    {
        //   CON [MID=1234], GET, /status              ------>
        //   <------   ACK [MID=1234], 2.05 Content, 2:0/1/128
        //   CON [MID=1235], GET, /status, 2:1/0/128   ------>
        //   <------   ACK [MID=1235], 2.05 Content, 2:1/1/128
        //   CON [MID=1236], GET, /status, 2:2/0/128   ------>
        //   <------   ACK [MID=1236], 2.05 Content, 2:2/0/128
        var h = new StackHarness(o => o.PreferredBlockSize = 128);
        var status = Bytes(300);
        h.Router.Map(CoapCode.Get, "/status", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Payload = status }));

        var r0 = await Exchange(h, GetStatus(1234, null), CoapCode.Content, new BlockOption(0, true, 3));
        var r1 = await Exchange(h, GetStatus(1235, new BlockOption(1, false, 3)), CoapCode.Content, new BlockOption(1, true, 3));
        var r2 = await Exchange(h, GetStatus(1236, new BlockOption(2, false, 3)), CoapCode.Content, new BlockOption(2, false, 3));
        byte[] assembled = [.. r0.Payload.ToArray(), .. r1.Payload.ToArray(), .. r2.Payload.ToArray()];
        Assert.Equal(status, assembled);
        Assert.Equal(300u, r0.Size2); // §4: Size2 with the first block
        Assert.Null(r1.Size2);
    }

    [Fact]
    public async Task Figure_3_block_wise_get_with_early_negotiation()
    {
        //   CON [MID=1234], GET, /status, 2:0/0/64    ------>
        //   <------   ACK [MID=1234], 2.05 Content, 2:0/1/64
        //   CON [MID=1235], GET, /status, 2:1/0/64    ------>
        //   <------   ACK [MID=1235], 2.05 Content, 2:1/1/64
        //   …
        //   CON [MID=1238], GET, /status, 2:4/0/64    ------>
        //   <------   ACK [MID=1238], 2.05 Content, 2:4/1/64
        //   CON [MID=1239], GET, /status, 2:5/0/64    ------>
        //   <------   ACK [MID=1239], 2.05 Content, 2:5/0/64
        var h = new StackHarness();
        var status = Bytes(350);
        h.Router.Map(CoapCode.Get, "/status", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Payload = status }));
        var assembled = new List<byte>();
        for (uint num = 0; num <= 5; num++)
        {
            var r = await Exchange(h, GetStatus((ushort)(1234 + num), new BlockOption(num, false, 2)), CoapCode.Content, new BlockOption(num, num < 5, 2));
            assembled.AddRange(r.Payload.ToArray());
        }
        Assert.Equal(status, assembled);
    }

    [Fact]
    public async Task Figure_4_block_wise_get_with_late_negotiation()
    {
        //   CON [MID=1234], GET, /status              ------>
        //   <------   ACK [MID=1234], 2.05 Content, 2:0/1/128
        //   CON [MID=1235], GET, /status, 2:2/0/64    ------>   (the client now wants 64: bytes 128.. are NUM 2)
        //   <------   ACK [MID=1235], 2.05 Content, 2:2/1/64
        //   CON [MID=1236], GET, /status, 2:3/0/64    ------>
        //   <------   ACK [MID=1236], 2.05 Content, 2:3/1/64
        //   CON [MID=1237], GET, /status, 2:4/0/64    ------>
        //   <------   ACK [MID=1237], 2.05 Content, 2:4/1/64
        //   CON [MID=1238], GET, /status, 2:5/0/64    ------>
        //   <------   ACK [MID=1238], 2.05 Content, 2:5/0/64
        var h = new StackHarness(o => o.PreferredBlockSize = 128);
        var status = Bytes(350);
        h.Router.Map(CoapCode.Get, "/status", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Payload = status }));
        var assembled = new List<byte>((await Exchange(h, GetStatus(1234, null), CoapCode.Content, new BlockOption(0, true, 3))).Payload.ToArray());
        for (uint num = 2; num <= 5; num++)
        {
            var r = await Exchange(h, GetStatus((ushort)(1233 + num), new BlockOption(num, false, 2)), CoapCode.Content, new BlockOption(num, num < 5, 2));
            assembled.AddRange(r.Payload.ToArray());
        }
        Assert.Equal(status, assembled);
    }

    [Fact]
    public async Task Figure_8_atomic_block_wise_put_with_negotiation()
    {
        //   CON [MID=1234], PUT, /options, 1:0/1/128  ------>
        //   <------   ACK [MID=1234], 2.31 Continue, 1:0/1/32
        //   CON [MID=1235], PUT, /options, 1:4/1/32   ------>
        //   <------   ACK [MID=1235], 2.31 Continue, 1:4/1/32
        //   CON [MID=1236], PUT, /options, 1:5/1/32   ------>
        //   <------   ACK [MID=1236], 2.31 Continue, 1:5/1/32
        //   CON [MID=1237], PUT, /options, 1:6/0/32   ------>
        //   <------   ACK [MID=1237], 2.04 Changed, 1:6/0/32
        // (The figure prints the last two ACKs with MIDs 1235/1236; an ACK always echoes its CON's MID, §4.2.)
        var h = new StackHarness(o => o.MaxBlockSize = 32);
        byte[]? stored = null;
        h.Router.Map(CoapCode.Put, "/options", ctx =>
        {
            stored = ctx.Body.ToArray();
            return ValueTask.FromResult(new CoapResponse(CoapCode.Changed));
        });
        var body = Bytes(128 + 32 + 32 + 20);

        await Exchange(h, PutOptions(1234, new BlockOption(0, true, 3), body[..128]), CoapCode.Continue, block1: new BlockOption(0, true, 1));
        await Exchange(h, PutOptions(1235, new BlockOption(4, true, 1), body[128..160]), CoapCode.Continue, block1: new BlockOption(4, true, 1));
        await Exchange(h, PutOptions(1236, new BlockOption(5, true, 1), body[160..192]), CoapCode.Continue, block1: new BlockOption(5, true, 1));
        await Exchange(h, PutOptions(1237, new BlockOption(6, false, 1), body[192..]), CoapCode.Changed, block1: new BlockOption(6, false, 1));
        Assert.Equal(body, stored);
    }

    [Fact]
    public async Task A_retransmitted_block_is_answered_from_the_dedup_cache_not_appended_twice()
    {
        // §2.5 and RFC 7252 §4.5: a lost 2.31 makes the client resend the same CON; the body must not grow.
        var h = new StackHarness();
        byte[]? stored = null;
        h.Router.Map(CoapCode.Put, "/options", ctx =>
        {
            stored = ctx.Body.ToArray();
            return ValueTask.FromResult(new CoapResponse(CoapCode.Changed));
        });
        var body = Bytes(150);
        var first = PutOptions(1, new BlockOption(0, true, 3), body[..128]);
        var a = await Exchange(h, first, CoapCode.Continue);
        var again = await Exchange(h, first, CoapCode.Continue);
        Assert.Equal(CoapSerializer.ToArray(a), CoapSerializer.ToArray(again));
        await Exchange(h, PutOptions(2, new BlockOption(1, false, 3), body[128..]), CoapCode.Changed);
        Assert.Equal(body, stored);
    }
}
