using System.Buffers.Binary;
using System.Text;

namespace NHub.Coap;

/// <summary>One option instance: number and raw value (a slice of the datagram when parsed; no copy).</summary>
public readonly record struct CoapOption(int Number, ReadOnlyMemory<byte> Value)
{
    /// <summary>RFC 7252 §3.2 "uint": big-endian, leading zero bytes omitted (0 is the empty value). Up to 4 bytes.</summary>
    public uint GetUInt() => DecodeUInt(Value.Span);

    public string GetString() => Encoding.UTF8.GetString(Value.Span);

    public static uint DecodeUInt(ReadOnlySpan<byte> value)
    {
        uint v = 0;
        for (var i = 0; i < value.Length && i < 4; i++)
        {
            v = (v << 8) | value[i];
        }
        return v;
    }

    /// <summary>The minimal uint encoding (§3.2): 0 → empty, else 1–4 bytes.</summary>
    public static int EncodeUInt(uint value, Span<byte> destination)
    {
        var length = value == 0 ? 0 : value <= 0xFF ? 1 : value <= 0xFFFF ? 2 : value <= 0xFFFFFF ? 3 : 4;
        Span<byte> be = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(be, value);
        be[(4 - length)..].CopyTo(destination);
        return length;
    }

    public static CoapOption FromUInt(int number, uint value)
    {
        Span<byte> buffer = stackalloc byte[4];
        var length = EncodeUInt(value, buffer);
        return new CoapOption(number, buffer[..length].ToArray());
    }

    public static CoapOption FromString(int number, string value) => new(number, Encoding.UTF8.GetBytes(value));
}

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
