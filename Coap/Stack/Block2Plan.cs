namespace NHub.Coap.Stack;

/// <summary>Which block of a representation a Block2 request is served (RFC 7959 §2.4).</summary>
public static class Block2Plan
{
    /// <summary>
    /// The one place the served Block2 is decided (RFC 7959 §2.4): the client's SZX capped at MaxBlockSize (or the
    /// preferred size when it asked for none), the offset its NUM and SZX name, and the bytes from there. False when
    /// that offset is past the end. A resource that accounts for what it served (firmware progress) asks here too.
    /// </summary>
    public static bool TryPlan(int representationLength, BlockOption? requested, CoapServerOptions options,
        out BlockOption block, out int offset, out int length)
    {
        var maxSzx = BlockOption.ExponentFor(options.MaxBlockSize);
        int szx;
        long start;
        if (requested is { } r)
        {
            szx = Math.Min(r.SizeExponent, maxSzx);
            start = r.Offset;
        }
        else
        {
            szx = Math.Min(BlockOption.ExponentFor(options.PreferredBlockSize), maxSzx);
            start = 0;
        }
        var size = 1 << (szx + 4);
        if (start > 0 && start >= representationLength)
        {
            block = default;
            offset = length = 0;
            return false;
        }
        offset = (int)start;
        length = (int)Math.Min(size, representationLength - start);
        block = new BlockOption((uint)(start / size), start + length < representationLength, szx);
        return true;
    }
}
