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
