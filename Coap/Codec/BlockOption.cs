namespace NHub.Coap;

/// <summary>
/// Block1/Block2 option value (RFC 7959 §2.2): NUM (up to 20 bits), M (more), SZX (block size 2^(SZX+4), 16–1024;
/// SZX 7 is reserved and makes the option invalid).
/// </summary>
public readonly record struct BlockOption(uint Number, bool More, int SizeExponent)
{
    public const int MaxSizeExponent = 6;
    public const uint MaxNumber = (1u << 20) - 1;

    public int Size => 1 << (SizeExponent + 4);

    /// <summary>Byte offset of this block: NUM × size.</summary>
    public long Offset => (long)Number * Size;

    public uint Encode() => (Number << 4) | (More ? 8u : 0u) | (uint)SizeExponent;

    /// <summary>False for SZX 7 (reserved) or a value longer than 3 bytes.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> value, out BlockOption block)
    {
        block = default;
        if (value.Length > 3)
        {
            return false;
        }
        var v = CoapOption.DecodeUInt(value);
        var szx = (int)(v & 7);
        if (szx == 7)
        {
            return false;
        }
        block = new BlockOption(v >> 4, (v & 8) != 0, szx);
        return true;
    }

    /// <summary>The SZX for a block size (16, 32, …, 1024); sizes in between round down.</summary>
    public static int ExponentFor(int size)
    {
        var szx = 0;
        while (szx < MaxSizeExponent && (1 << (szx + 5)) <= size)
        {
            szx++;
        }
        return szx;
    }
}
