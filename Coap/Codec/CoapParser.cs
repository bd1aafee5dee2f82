namespace NHub.Coap;

/// <summary>Why a datagram is not a valid CoAP message.</summary>
public enum CoapParseError
{
    None = 0,

    /// <summary>Fewer than 4 bytes, or a version other than 1: not CoAP; not even the message id can be trusted.</summary>
    NotCoap,

    /// <summary>Token length 9–15 (§3: reserved, message format error).</summary>
    BadTokenLength,

    /// <summary>Truncated option, option nibble 15 that is not the payload marker, or a marker with no payload (§3).</summary>
    BadOptions,

    /// <summary>Code 0.00 with token, options or payload (§4.1: an empty message has none).</summary>
    BadEmptyMessage,

    /// <summary>Code class 1, 6 or 7 (reserved, §12.1).</summary>
    ReservedCodeClass,
}

/// <summary>
/// RFC 7252 §3 message format:
/// <code>
///  0                   1                   2                   3
/// |Ver| T |  TKL  |      Code     |          Message ID           |
/// |   Token (if any, TKL bytes) ...
/// |   Options (if any) ...
/// |1 1 1 1 1 1 1 1|    Payload (if any) ...
/// </code>
/// Option header: 4-bit delta, 4-bit length; 13 → one extra byte (+13), 14 → two extra bytes (+269), 15 reserved
/// (§3.1). Parsing never throws and never allocates: option values, token and payload are slices of the input.
/// </summary>
public static class CoapParser
{
    /// <summary>
    /// Reads type and message id of a datagram whose rest may be malformed, so a CON can be answered with RST
    /// (§4.2). False when the datagram is not CoAP at all (then nothing is answered).
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> datagram, out CoapMessageType type, out ushort messageId)
    {
        type = default;
        messageId = 0;
        if (datagram.Length < 4 || (datagram[0] >> 6) != 1)
        {
            return false;
        }
        type = (CoapMessageType)((datagram[0] >> 4) & 3);
        messageId = (ushort)((datagram[2] << 8) | datagram[3]);
        return true;
    }

    /// <summary>Parses <paramref name="datagram"/> into <paramref name="message"/> (cleared first).</summary>
    public static CoapParseError TryParse(ReadOnlyMemory<byte> datagram, CoapMessage message)
    {
        message.Clear();
        var span = datagram.Span;
        if (!TryReadHeader(span, out var type, out var mid))
        {
            return CoapParseError.NotCoap;
        }
        var tkl = span[0] & 0x0F;
        if (tkl > 8)
        {
            return CoapParseError.BadTokenLength;
        }
        var code = new CoapCode(span[1]);
        if (code.Class is 1 or 6 or 7)
        {
            return CoapParseError.ReservedCodeClass;
        }
        if (span.Length < 4 + tkl)
        {
            return CoapParseError.BadOptions;
        }
        message.Type = type;
        message.Code = code;
        message.MessageId = mid;
        message.Token = datagram.Slice(4, tkl);

        var pos = 4 + tkl;
        var number = 0;
        while (pos < span.Length)
        {
            var b = span[pos];
            if (b == 0xFF)
            {
                pos++;
                if (pos == span.Length)
                {
                    // §3: a payload marker followed by a zero-length payload is a message format error.
                    return CoapParseError.BadOptions;
                }
                message.Payload = datagram[pos..];
                break;
            }
            pos++;
            if (!TryReadExtended(span, ref pos, b >> 4, out var delta) || !TryReadExtended(span, ref pos, b & 0x0F, out var length))
            {
                return CoapParseError.BadOptions;
            }
            number += delta;
            if (number > ushort.MaxValue || length > span.Length - pos)
            {
                return CoapParseError.BadOptions;
            }
            message.AppendParsedOption(new CoapOption(number, datagram.Slice(pos, length)));
            pos += length;
        }

        if (code.IsEmpty && (tkl != 0 || message.Options.Count != 0 || !message.Payload.IsEmpty || span.Length != 4))
        {
            return CoapParseError.BadEmptyMessage;
        }
        return CoapParseError.None;
    }

    /// <summary>§3.1: nibble 0–12 is the value; 13: next byte + 13; 14: next two bytes + 269; 15: reserved.</summary>
    private static bool TryReadExtended(ReadOnlySpan<byte> span, ref int pos, int nibble, out int value)
    {
        switch (nibble)
        {
            case < 13:
                value = nibble;
                return true;
            case 13 when pos < span.Length:
                value = span[pos] + 13;
                pos += 1;
                return true;
            case 14 when pos + 1 < span.Length:
                value = ((span[pos] << 8) | span[pos + 1]) + 269;
                pos += 2;
                return true;
            default:
                value = 0;
                return false;
        }
    }

    /// <summary>
    /// §5.4.1 / §5.4.5: the first option a server must reject with 4.02 Bad Option — an unrecognized critical option,
    /// a repeated non-repeatable critical option, or a known critical option with a value length out of range.
    /// Unrecognized or malformed elective options are ignored (§5.4.1). Null when the request is acceptable.
    /// </summary>
    public static int? FindBadCriticalOption(CoapMessage message)
    {
        var previous = -1;
        foreach (var o in message.Options)
        {
            var critical = CoapOptionNumber.IsCritical(o.Number);
            var repeated = o.Number == previous && !CoapOptionNumber.IsRepeatable(o.Number);
            previous = o.Number;
            if (!critical)
            {
                continue;
            }
            if (!CoapOptionNumber.IsKnown(o.Number) || repeated)
            {
                return o.Number;
            }
            var (min, max) = CoapOptionNumber.LengthBounds(o.Number);
            if (o.Value.Length < min || o.Value.Length > max)
            {
                return o.Number;
            }
        }
        return null;
    }
}
