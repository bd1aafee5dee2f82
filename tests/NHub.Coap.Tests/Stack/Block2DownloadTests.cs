using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>The Block2 download helper against our own server: both ends of RFC 7959 §2.4 in one lockstep.</summary>
public sealed class Block2DownloadTests
{
    private static byte[] Bytes(int count) => Enumerable.Range(0, count).Select(i => (byte)(i * 13)).ToArray();

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
