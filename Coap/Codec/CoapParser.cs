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

public static class CoapParseErrorExtensions
{
    /// <summary>
    /// True when type and message id could be read despite the error, i.e. everything but <see cref="CoapParseError.NotCoap"/>:
    /// a Confirmable message with a format error is then rejected with an RST carrying its message id (§4.2), a
    /// Non-confirmable one is silently dropped (§4.3).
    /// </summary>
    public static bool IsHeaderReadable(this CoapParseError error) => error != CoapParseError.NotCoap;
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

    /// <summary>
    /// Parses <paramref name="datagram"/> into <paramref name="message"/> (cleared first). Token, option values and
    /// payload are slices of <paramref name="datagram"/>: nothing is copied, nothing allocated once the message's
    /// option list has grown to its working size. The grammar is read by <see cref="CoapReader"/>; this adds the
    /// §4.1 rule that an Empty message (0.00) is exactly the 4-byte header.
    /// </summary>
    public static CoapParseError TryParse(ReadOnlyMemory<byte> datagram, CoapMessage message)
    {
        message.Clear();
        var reader = new CoapReader(datagram.Span);
        if (reader.Error != CoapParseError.None)
        {
            return reader.Error;
        }
        message.Type = reader.Type;
        message.Code = reader.Code;
        message.MessageId = reader.MessageId;
        message.Token = datagram.Slice(4, reader.TokenLength);
        while (reader.TryReadOption(out var number, out var value))
        {
            message.AppendParsedOption(new CoapOption(number, datagram.Slice(reader.ValueOffset, value.Length)));
        }
        if (reader.Error != CoapParseError.None)
        {
            return reader.Error;
        }
        if (reader.PayloadOffset < datagram.Length)
        {
            message.Payload = datagram[reader.PayloadOffset..];
        }
        if (reader.Code.IsEmpty && datagram.Length != 4)
        {
            // §4.1: an Empty message has no token, options or payload (§3: "MUST NOT be sent").
            return CoapParseError.BadEmptyMessage;
        }
        return CoapParseError.None;
    }

    /// <summary>
    /// §5.4.1 / §5.4.5: the first option a server must reject with 4.02 Bad Option — an unrecognized critical option,
    /// a repeated non-repeatable critical option, or a known critical option with a value length out of range.
    /// Unrecognized or malformed elective options are ignored (§5.4.1). Null when the request is acceptable.
    /// </summary>
    public static int? FindBadCriticalOption(CoapMessage message)
    {
        var previous = -1;
        var options = message.Options;
        // Indexed: enumerating an IReadOnlyList boxes its enumerator (this runs for every request).
        for (var i = 0; i < options.Count; i++)
        {
            var o = options[i];
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
