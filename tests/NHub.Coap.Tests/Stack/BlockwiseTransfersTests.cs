using Microsoft.Extensions.Time.Testing;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>RFC 7959 Block1 reassembly and Block2 slicing, without a server around them.</summary>
public sealed class BlockwiseTransfersTests
{
    private readonly FakeTimeProvider _time = new();

    private BlockwiseTransfers<string> Create(Action<CoapServerOptions>? configure = null)
    {
        var options = new CoapServerOptions();
        configure?.Invoke(options);
        return new BlockwiseTransfers<string>(options, _time);
    }

    private static byte[] Bytes(int n) => Enumerable.Range(0, n).Select(i => (byte)i).ToArray();

    [Fact]
    public void Blocks_in_order_reassemble_the_body()
    {
        var blocks = Create();
        var body = Bytes(100);
        Assert.Equal(Block1Status.Continue, blocks.AddBlock1("a", "/u", new BlockOption(0, true, 1), null, body.AsSpan(0, 32)).Status);
        Assert.Equal(Block1Status.Continue, blocks.AddBlock1("a", "/u", new BlockOption(1, true, 1), null, body.AsSpan(32, 32)).Status);
        var done = blocks.AddBlock1("a", "/u", new BlockOption(2, false, 1), null, body.AsSpan(64));
        Assert.Equal(Block1Status.Complete, done.Status);
        Assert.Equal(body, done.Body.ToArray());
        Assert.Equal(new BlockOption(2, false, 1), done.Echo);
        Assert.Equal(0, blocks.Count);
    }

    [Fact]
    public void Transfers_are_keyed_by_peer_and_uri()
    {
        var blocks = Create();
        blocks.AddBlock1("a", "/u?x=1", new BlockOption(0, true, 0), null, Bytes(16));
        Assert.Equal(Block1Status.Incomplete, blocks.AddBlock1("a", "/u?x=2", new BlockOption(1, false, 0), null, Bytes(3)).Status);
        Assert.Equal(Block1Status.Incomplete, blocks.AddBlock1("b", "/u?x=1", new BlockOption(1, false, 0), null, Bytes(3)).Status);
        Assert.Equal(Block1Status.Complete, blocks.AddBlock1("a", "/u?x=1", new BlockOption(1, false, 0), null, Bytes(3)).Status);
    }

    [Fact]
    public void A_gap_a_repeat_or_a_short_middle_block_is_incomplete()
    {
        var blocks = Create();
        blocks.AddBlock1("a", "/u", new BlockOption(0, true, 0), null, Bytes(16));
        Assert.Equal(Block1Status.Incomplete, blocks.AddBlock1("a", "/u", new BlockOption(2, true, 0), null, Bytes(16)).Status);
        Assert.Equal(0, blocks.Count); // the broken transfer is dropped

        blocks.AddBlock1("a", "/u", new BlockOption(0, true, 0), null, Bytes(16));
        Assert.Equal(Block1Status.Incomplete, blocks.AddBlock1("a", "/u", new BlockOption(1, true, 0), null, Bytes(15)).Status);
    }

    [Fact]
    public void A_declared_or_accumulated_size_over_the_maximum_is_too_large()
    {
        var blocks = Create(o => o.MaxBodySize = 40);
        Assert.Equal(Block1Status.TooLarge, blocks.AddBlock1("a", "/u", new BlockOption(0, true, 0), 41, Bytes(16)).Status);
        blocks.AddBlock1("a", "/u", new BlockOption(0, true, 0), null, Bytes(16));
        blocks.AddBlock1("a", "/u", new BlockOption(1, true, 0), null, Bytes(16));
        Assert.Equal(Block1Status.TooLarge, blocks.AddBlock1("a", "/u", new BlockOption(2, false, 0), null, Bytes(9)).Status);
    }

    [Fact]
    public void Concurrent_transfers_are_capped_globally_and_restarting_block_0_replaces_a_transfer()
    {
        var blocks = Create(o => o.MaxBlockTransfers = 2);
        Assert.Equal(Block1Status.Continue, blocks.AddBlock1("a", "/1", new BlockOption(0, true, 0), null, Bytes(16)).Status);
        Assert.Equal(Block1Status.Continue, blocks.AddBlock1("b", "/1", new BlockOption(0, true, 0), null, Bytes(16)).Status);
        Assert.Equal(Block1Status.Busy, blocks.AddBlock1("c", "/1", new BlockOption(0, true, 0), null, Bytes(16)).Status);
        Assert.Equal(Block1Status.Continue, blocks.AddBlock1("a", "/1", new BlockOption(0, true, 0), null, Bytes(16)).Status);
        Assert.Equal(2, blocks.Count);
        blocks.RemovePeer("a");
        Assert.Equal(1, blocks.Count);
    }

    [Fact]
    public void An_idle_transfer_expires()
    {
        var blocks = Create(o => o.BlockTransferTimeout = TimeSpan.FromSeconds(10));
        blocks.AddBlock1("a", "/u", new BlockOption(0, true, 0), null, Bytes(16));
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(Block1Status.Incomplete, blocks.AddBlock1("a", "/u", new BlockOption(1, false, 0), null, Bytes(1)).Status);
    }

    [Theory]
    [InlineData(null, 1000, 0u, true, 5, 0, 512)]       // unasked: the preferred size, 512
    [InlineData(2, 300, 0u, true, 2, 0, 64)]            // early negotiation at 64
    [InlineData(2, 300, 4u, false, 2, 256, 44)]         // the last 64-byte block
    [InlineData(6, 3000, 1u, true, 6, 1024, 1024)]      // 1024 is the server's maximum: honoured
    public void Block2_slices_at_the_requested_size(int? szx, int length, uint num, bool more, int expectedSzx, int offset, int sliceLength)
    {
        var blocks = Create();
        var representation = Bytes(length);
        BlockOption? requested = szx is { } s ? new BlockOption(num, false, s) : null;
        Assert.True(blocks.TrySliceBlock2(representation, requested, out var block, out var slice));
        Assert.Equal(expectedSzx, block.SizeExponent);
        Assert.Equal(more, block.More);
        Assert.Equal(representation.AsSpan(offset, sliceLength).ToArray(), slice.ToArray());
    }

    [Fact]
    public void The_server_never_sends_blocks_larger_than_its_maximum()
    {
        var blocks = Create(o => o.MaxBlockSize = 128);
        Assert.True(blocks.TrySliceBlock2(Bytes(1000), new BlockOption(0, false, 6), out var block, out var slice));
        Assert.Equal(new BlockOption(0, true, 3), block);
        Assert.Equal(128, slice.Length);
        Assert.False(blocks.TrySliceBlock2(Bytes(1000), new BlockOption(8, false, 3), out _, out _)); // offset 1024 ≥ 1000
        Assert.True(blocks.NeedsBlock2(513));
        Assert.False(blocks.NeedsBlock2(512));
    }
}
