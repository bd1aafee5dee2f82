using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>The client helpers against our own server: both ends of RFC 7959 in one lockstep.</summary>
public sealed class BlockwiseClientTests
{
    private static byte[] Bytes(int count) => Enumerable.Range(0, count).Select(i => (byte)(i * 13)).ToArray();

    [Fact]
    public async Task An_upload_follows_the_servers_smaller_block_size()
    {
        // RFC 7959 Figure 8 from the client's side: 1:0/1/128, then 1:4/1/32, 1:5/1/32, … at the server's 32 bytes.
        var h = new StackHarness(o => o.MaxBlockSize = 32);
        byte[]? stored = null;
        h.Router.Map(CoapCode.Put, "/options", ctx =>
        {
            stored = ctx.Body.ToArray();
            return ValueTask.FromResult(new CoapResponse(CoapCode.Changed));
        });
        var body = Bytes(250);
        var upload = new Block1Upload(body, sizeExponent: 3);
        var sent = new List<BlockOption>();
        for (ushort mid = 1; !upload.IsComplete; mid++)
        {
            var (block, payload) = upload.Current();
            sent.Add(block);
            var request = StackHarness.Con(CoapCode.Put, "/options", mid);
            request.Block1 = block;
            request.Payload = payload;
            h.Receive("client", request);
            var response = await h.NextAsync();
            Assert.True(response.Code == CoapCode.Continue || response.Code == CoapCode.Changed, response.ToString());
            upload.Acknowledge(response.Block1);
        }
        Assert.Equal(new BlockOption(0, true, 3), sent[0]);
        Assert.Equal(new BlockOption(4, true, 1), sent[1]);
        Assert.Equal(new BlockOption(7, false, 1), sent[^1]); // 128 + 3 × 32 = 224; the last 26 bytes are NUM 7
        Assert.Equal(body, stored);
    }

    [Fact]
    public async Task A_download_collects_the_blocks_at_the_size_the_server_chose()
    {
        var h = new StackHarness(o => o.MaxBlockSize = 64);
        var representation = Bytes(1000);
        h.Router.Map(CoapCode.Get, "/firmware/{version}", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Payload = representation, ETag = new byte[] { 1, 2 } }));
        var download = new Block2Download();
        BlockOption? next = new BlockOption(0, false, 6); // asks for 1024, gets 64 (early negotiation, §2.4)
        for (ushort mid = 1; next is not null; mid++)
        {
            var get = StackHarness.Con(CoapCode.Get, "/firmware/1.0", mid);
            get.Block2 = next;
            h.Receive("client", get);
            next = download.Add(await h.NextAsync());
        }
        Assert.Equal(representation, download.Body.ToArray());
        Assert.Equal(1000u, download.TotalSize);
    }

    [Fact]
    public void A_download_rejects_a_changed_representation_and_an_oversized_one()
    {
        var download = new Block2Download(maxBodySize: 100);
        var first = new CoapMessage { Code = CoapCode.Content, Block2 = new BlockOption(0, true, 0), Payload = new byte[16] }.AddETag(new byte[] { 1 });
        Assert.Equal(new BlockOption(1, false, 0), download.Add(first));
        var changed = new CoapMessage { Code = CoapCode.Content, Block2 = new BlockOption(1, true, 0), Payload = new byte[16] }.AddETag(new byte[] { 2 });
        Assert.Throws<InvalidDataException>(() => download.Add(changed));

        var small = new Block2Download(maxBodySize: 10);
        Assert.Throws<InvalidDataException>(() => small.Add(new CoapMessage { Code = CoapCode.Content, Payload = new byte[11] }));
    }
}
