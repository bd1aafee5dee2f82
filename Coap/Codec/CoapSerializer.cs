using System.Buffers;

namespace NHub.Coap;

/// <summary>
/// Writes RFC 7252 §3 messages. Options must be sorted by number (<see cref="CoapMessage"/> keeps them so); each is
/// written as a delta from the previous number (§3.1), so repeated options have delta 0. No LINQ, no enumerator boxing.
/// </summary>
public static class CoapSerializer
{
    /// <summary>§3.1: the largest encodable option length, 14-nibble form: 65535 + 269.</summary>
    public const int MaxOptionLength = 65535 + 269;

    /// <summary>Exact number of bytes <see cref="TryWrite"/> produces.</summary>
    public static int GetLength(CoapMessage message)
    {
        var length = 4 + message.Token.Length;
        var number = 0;
        var options = message.Options;
        // Indexed loops: enumerating an IReadOnlyList boxes its enumerator (an allocation per message).
        for (var i = 0; i < options.Count; i++)
        {
            var o = options[i];
            length += 1 + ExtendedLength(o.Number - number) + ExtendedLength(o.Value.Length) + o.Value.Length;
            number = o.Number;
        }
        if (!message.Payload.IsEmpty)
        {
            length += 1 + message.Payload.Length;
        }
        return length;
    }

    /// <summary>
    /// RFC 7252 §3: <c>Ver=1 | T | TKL | Code | Message ID | Token | Options (§3.1) | 0xFF Payload</c> (the marker only
    /// when there is a payload). Serializes into <paramref name="destination"/>; false (nothing meaningful written)
    /// when it is too small. Throws <see cref="InvalidOperationException"/> for a message that cannot be encoded
    /// (token over 8 bytes, option number over 65535 or a value over 65804 bytes): a programming error, not input.
    /// </summary>
    public static bool TryWrite(CoapMessage message, Span<byte> destination, out int written)
    {
        written = 0;
        var token = message.Token.Span;
        if (token.Length > 8)
        {
            throw new InvalidOperationException("Token longer than 8 bytes (RFC 7252 §5.3.1)");
        }
        var needed = GetLength(message);
        if (destination.Length < needed)
        {
            return false;
        }
        destination[0] = (byte)(0x40 | ((int)message.Type << 4) | token.Length);
        destination[1] = message.Code.Value;
        destination[2] = (byte)(message.MessageId >> 8);
        destination[3] = (byte)message.MessageId;
        token.CopyTo(destination[4..]);
        var pos = 4 + token.Length;
        var number = 0;
        var options = message.Options;
        for (var i = 0; i < options.Count; i++)
        {
            var o = options[i];
            var delta = o.Number - number;
            if (delta < 0 || o.Number > ushort.MaxValue)
            {
                throw new InvalidOperationException($"Option {o.Number} is out of order or above 65535 (RFC 7252 §3.1)");
            }
            var value = o.Value.Span;
            if (value.Length > MaxOptionLength)
            {
                throw new InvalidOperationException($"Option {o.Number} value of {value.Length} bytes exceeds {MaxOptionLength} (RFC 7252 §3.1)");
            }
            var header = pos++;
            destination[header] = (byte)((Nibble(delta) << 4) | Nibble(value.Length));
            pos += WriteExtended(destination[pos..], delta);
            pos += WriteExtended(destination[pos..], value.Length);
            value.CopyTo(destination[pos..]);
            pos += value.Length;
            number = o.Number;
        }
        if (!message.Payload.IsEmpty)
        {
            destination[pos++] = 0xFF;
            message.Payload.Span.CopyTo(destination[pos..]);
            pos += message.Payload.Length;
        }
        written = pos;
        return true;
    }

    /// <summary>Serializes into <paramref name="writer"/> (one <c>GetSpan</c> of the exact length); returns the byte count.</summary>
    public static int Write(CoapMessage message, IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(GetLength(message));
        TryWrite(message, span, out var written);
        writer.Advance(written);
        return written;
    }

    /// <summary>A new array holding the message: for what must outlive the caller's buffer (retransmission, dedup cache).</summary>
    public static byte[] ToArray(CoapMessage message)
    {
        var buffer = new byte[GetLength(message)];
        TryWrite(message, buffer, out _);
        return buffer;
    }

    private static int Nibble(int value) => value < 13 ? value : value < 269 ? 13 : 14;

    private static int ExtendedLength(int value) => value < 13 ? 0 : value < 269 ? 1 : 2;

    private static int WriteExtended(Span<byte> destination, int value)
    {
        if (value < 13)
        {
            return 0;
        }
        if (value < 269)
        {
            destination[0] = (byte)(value - 13);
            return 1;
        }
        var v = value - 269;
        destination[0] = (byte)(v >> 8);
        destination[1] = (byte)v;
        return 2;
    }
}
