using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>Lockstep exchanges after RFC 7959's figures (§3).</summary>
public sealed class BlockwiseTests
{
    private static CoapMessage Block1Put(ushort mid, uint num, bool more, int szx, byte[] payload)
    {
        var m = StackHarness.Con(CoapCode.Post, "/options", mid, [(byte)mid]);
        m.Block1 = new BlockOption(num, more, szx);
        m.Payload = payload;
        return m;
    }

    private static byte[] Bytes(int count, byte seed) => Enumerable.Range(0, count).Select(i => (byte)(seed + i)).ToArray();

    [Fact]
    public async Task Figure_7_block1_atomic_upload_continues_then_completes_with_the_whole_body()
    {
        // RFC 7959 Figure 7 (simple atomic block-wise PUT), with 128-byte blocks:
        //   CON [MID=1234], PUT, /options, 1:0/1/128  -->  <-- ACK [MID=1234], 2.31 Continue, 1:0/1/128
        //   CON [MID=1235], PUT, /options, 1:1/1/128  -->  <-- ACK [MID=1235], 2.31 Continue, 1:1/1/128
        //   CON [MID=1236], PUT, /options, 1:2/0/128  -->  <-- ACK [MID=1236], 2.04 Changed, 1:2/0/128
        var h = new StackHarness();
        byte[]? received = null;
        h.Router.Map(CoapCode.Post, "/options", ctx =>
        {
            received = ctx.Body.ToArray();
            return ValueTask.FromResult(new CoapResponse(CoapCode.Changed));
        });
        var body = Bytes(300, 1);

        h.Receive("client", Block1Put(1234, 0, true, 3, body[..128]));
        var r0 = await h.NextAsync();
        Assert.Equal(CoapCode.Continue, r0.Code);
        Assert.Equal(new BlockOption(0, true, 3), r0.Block1);

        h.Receive("client", Block1Put(1235, 1, true, 3, body[128..256]));
        var r1 = await h.NextAsync();
        Assert.Equal(CoapCode.Continue, r1.Code);
        Assert.Equal(new BlockOption(1, true, 3), r1.Block1);

        h.Receive("client", Block1Put(1236, 2, false, 3, body[256..]));
        var r2 = await h.NextAsync();
        Assert.Equal(CoapCode.Changed, r2.Code);
        Assert.Equal(new BlockOption(2, false, 3), r2.Block1);
        Assert.Equal(body, received);
        Assert.Equal(0, h.Server.Blockwise.Count);
    }

    [Fact]
    public async Task Block1_negotiation_lowers_the_size_to_the_servers_maximum()
    {
        // §2.3: the server answers 2.31 with a smaller SZX; the client continues at NUM scaled to the new size.
        var h = new StackHarness(o => o.MaxBlockSize = 64);
        h.Router.Map(CoapCode.Post, "/options", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Changed)));
        h.Receive("client", Block1Put(1, 0, true, 4 /* 256 */, Bytes(256, 0)));
        var r = await h.NextAsync();
        Assert.Equal(CoapCode.Continue, r.Code);
        Assert.Equal(2, r.Block1!.Value.SizeExponent); // 64 bytes
    }

    [Fact]
    public async Task A_block_out_of_order_is_4_08_request_entity_incomplete()
    {
        var h = new StackHarness();
        h.Router.Map(CoapCode.Post, "/options", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Changed)));
        h.Receive("client", Block1Put(1, 0, true, 3, Bytes(128, 0)));
        await h.NextAsync();
        h.Receive("client", Block1Put(2, 2, true, 3, Bytes(128, 0))); // block 1 skipped
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await h.NextAsync()).Code);

        h.Receive("other", Block1Put(3, 1, false, 3, Bytes(10, 0))); // no transfer started
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await h.NextAsync("other")).Code);
    }

    [Fact]
    public async Task A_body_over_the_maximum_is_4_13_with_size1_declared_or_accumulated()
    {
        var h = new StackHarness(o => o.MaxBodySize = 256);
        h.Router.Map(CoapCode.Post, "/options", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Changed)));
        var declared = Block1Put(1, 0, true, 3, Bytes(128, 0));
        declared.Size1 = 4096;
        h.Receive("client", declared);
        var tooLarge = await h.NextAsync();
        Assert.Equal(CoapCode.RequestEntityTooLarge, tooLarge.Code);
        Assert.Equal(256u, tooLarge.Size1);

        for (uint num = 0; num < 2; num++)
        {
            h.Receive("client", Block1Put((ushort)(10 + num), num, true, 3, Bytes(128, 0)));
            Assert.Equal(CoapCode.Continue, (await h.NextAsync()).Code);
        }
        h.Receive("client", Block1Put(12, 2, true, 3, Bytes(128, 0)));
        Assert.Equal(CoapCode.RequestEntityTooLarge, (await h.NextAsync()).Code);
    }

    [Fact]
    public async Task Concurrent_transfers_per_peer_are_capped()
    {
        var h = new StackHarness(o => o.MaxBlockTransfersPerPeer = 1);
        h.Router.Map(CoapCode.Post, "/a", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Changed)));
        h.Router.Map(CoapCode.Post, "/b", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Changed)));
        var a = StackHarness.Con(CoapCode.Post, "/a", 1);
        a.Block1 = new BlockOption(0, true, 3);
        a.Payload = Bytes(128, 0);
        h.Receive("client", a);
        Assert.Equal(CoapCode.Continue, (await h.NextAsync()).Code);
        var b = StackHarness.Con(CoapCode.Post, "/b", 2);
        b.Block1 = new BlockOption(0, true, 3);
        b.Payload = Bytes(128, 0);
        h.Receive("client", b);
        Assert.Equal(CoapCode.ServiceUnavailable, (await h.NextAsync()).Code);
    }

    [Fact]
    public async Task A_stale_transfer_times_out()
    {
        var h = new StackHarness();
        h.Router.Map(CoapCode.Post, "/options", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Changed)));
        h.Receive("client", Block1Put(1, 0, true, 3, Bytes(128, 0)));
        await h.NextAsync();
        h.Time.Advance(TimeSpan.FromSeconds(121));
        h.Receive("client", Block1Put(2, 1, false, 3, Bytes(10, 0)));
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await h.NextAsync()).Code);
    }

    [Fact]
    public async Task Block2_get_is_served_at_the_size_the_client_asks_with_size2_on_the_first_block_and_etag_on_all()
    {
        // The client asks for 64-byte blocks (SZX 2) throughout: 2:0/1/64, 2:1/1/64, …, 2:n/0/64.
        var h = new StackHarness();
        var representation = Bytes(300, 3);
        h.Router.Map(CoapCode.Get, "/status", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Payload = representation, ETag = new byte[] { 0xE7 } }));
        var assembled = new List<byte>();
        for (uint num = 0; ; num++)
        {
            var get = StackHarness.Con(CoapCode.Get, "/status", (ushort)(100 + num));
            get.Block2 = new BlockOption(num, false, 2);
            h.Receive("client", get);
            var r = await h.NextAsync();
            Assert.Equal(CoapCode.Content, r.Code);
            Assert.Equal(num, r.Block2!.Value.Number);
            Assert.Equal(2, r.Block2.Value.SizeExponent);
            Assert.Equal(new byte[] { 0xE7 }, r.Options.First(o => o.Number == CoapOptionNumber.ETag).Value.ToArray());
            Assert.Equal(num == 0 ? 300u : null, r.Size2);
            assembled.AddRange(r.Payload.ToArray());
            if (!r.Block2.Value.More)
            {
                break;
            }
        }
        Assert.Equal(representation, assembled.ToArray());
    }

    [Fact]
    public async Task A_large_response_goes_block_wise_unasked_and_a_request_past_the_end_is_4_02()
    {
        var h = new StackHarness();
        h.Router.Map(CoapCode.Get, "/big", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Payload = Bytes(2000, 0) }));
        h.Receive("client", StackHarness.Con(CoapCode.Get, "/big", 1));
        var first = await h.NextAsync();
        Assert.Equal(new BlockOption(0, true, 5), first.Block2); // PreferredBlockSize 512
        Assert.Equal(2000u, first.Size2);
        Assert.Equal(512, first.Payload.Length);

        // Early negotiation upward is capped at the server's maximum (1024): NUM 1 of 1024 = bytes 1024..1999.
        var big = StackHarness.Con(CoapCode.Get, "/big", 2);
        big.Block2 = new BlockOption(1, false, 6);
        h.Receive("client", big);
        var last = await h.NextAsync();
        Assert.Equal(new BlockOption(1, false, 6), last.Block2);
        Assert.Equal(976, last.Payload.Length);

        var past = StackHarness.Con(CoapCode.Get, "/big", 3);
        past.Block2 = new BlockOption(40, false, 6);
        h.Receive("client", past);
        Assert.Equal(CoapCode.BadOption, (await h.NextAsync()).Code);
    }

    [Fact]
    public async Task When_the_server_lowers_the_block2_size_num_is_recomputed_from_the_offset()
    {
        var h = new StackHarness(o => o.MaxBlockSize = 256);
        h.Router.Map(CoapCode.Get, "/big", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Payload = Bytes(2000, 0) }));
        var get = StackHarness.Con(CoapCode.Get, "/big", 1);
        get.Block2 = new BlockOption(1, false, 6); // offset 1024 at 1024-byte blocks
        h.Receive("client", get);
        var r = await h.NextAsync();
        Assert.Equal(new BlockOption(4, true, 4), r.Block2); // offset 1024 at 256-byte blocks
        Assert.Equal(Bytes(2000, 0)[1024..1280], r.Payload.ToArray());
    }
}
