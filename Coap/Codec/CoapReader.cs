namespace NHub.Coap;

/// <summary>
/// A forward-only, allocation-free reader over one datagram (RFC 7252 §3), for code that only needs to look at a
/// message (route it, find its Uri-Path, reject it) without building a <see cref="CoapMessage"/>. Every option is
/// returned as its number and a slice of the datagram; <see cref="ValueOffset"/> lets a caller store (number, offset,
/// length) triples into the original buffer instead of copies.
/// <code>
/// var reader = new CoapReader(datagram);
/// if (reader.Error != CoapParseError.None) { /* reader.IsHeaderReadable: RST a CON (§4.2) */ }
/// while (reader.TryReadOption(out var number, out var value)) { ... }
/// if (reader.Error != CoapParseError.None) { /* message format error */ }
/// var payload = reader.Payload;
/// </code>
/// </summary>
public ref struct CoapReader
{
    private readonly ReadOnlySpan<byte> _datagram;
    private int _position;
    private int _number;
    private bool _done;

    public CoapReader(ReadOnlySpan<byte> datagram)
        : this(datagram, signaling: false)
    {
    }

    /// <summary>
    /// With <paramref name="signaling"/>, code class 7 is read too: RFC 8323 §5 gives it to the signaling messages of
    /// reliable transports (CSM, Ping, Pong, Release, Abort), which a connection converts to this form like any other.
    /// </summary>
    public CoapReader(ReadOnlySpan<byte> datagram, bool signaling)
    {
        _datagram = datagram;
        // §3: Ver (2 bits) = 1, T (2), TKL (4) | Code (8) | Message ID (16) | Token (TKL bytes).
        if (datagram.Length < 4 || (datagram[0] >> 6) != 1)
        {
            Error = CoapParseError.NotCoap;
            _done = true;
            return;
        }
        IsHeaderReadable = true;
        Type = (CoapMessageType)((datagram[0] >> 4) & 3);
        Code = new CoapCode(datagram[1]);
        MessageId = (ushort)((datagram[2] << 8) | datagram[3]);
        TokenLength = datagram[0] & 0x0F;
        if (TokenLength > 8)
        {
            // §3: lengths 9–15 are reserved and "MUST be processed as a message format error".
            Error = CoapParseError.BadTokenLength;
        }
        else if (Code.Class is 1 or 6 || (Code.Class == 7 && !signaling))
        {
            // §12.1: classes 1, 6 and 7 are reserved (RFC 8323 §5 takes 7 for signaling on reliable transports).
            Error = CoapParseError.ReservedCodeClass;
        }
        else if (datagram.Length < 4 + TokenLength)
        {
            Error = CoapParseError.BadOptions;
        }
        _done = Error != CoapParseError.None;
        _position = _done ? datagram.Length : 4 + TokenLength;
        PayloadOffset = datagram.Length;
    }

    /// <summary>Type and message id were read (so a CON can be answered with RST even if the rest is malformed).</summary>
    public bool IsHeaderReadable { get; }

    public CoapMessageType Type { get; }
    public CoapCode Code { get; }
    public ushort MessageId { get; }
    public int TokenLength { get; }

    /// <summary>The token (empty when the header is malformed).</summary>
    public readonly ReadOnlySpan<byte> Token =>
        IsHeaderReadable && TokenLength <= 8 && _datagram.Length >= 4 + TokenLength ? _datagram.Slice(4, TokenLength) : default;

    /// <summary>The first error met so far; check after <see cref="TryReadOption"/> returns false.</summary>
    public CoapParseError Error { get; private set; }

    /// <summary>Offset in the datagram of the value <see cref="TryReadOption"/> returned last.</summary>
    public int ValueOffset { get; private set; }

    /// <summary>Offset of the payload (the datagram length when there is none); final once the options are read.</summary>
    public int PayloadOffset { get; private set; }

    /// <summary>The payload, valid once <see cref="TryReadOption"/> returned false with no <see cref="Error"/>.</summary>
    public readonly ReadOnlySpan<byte> Payload => _datagram[PayloadOffset..];

    /// <summary>
    /// RFC 7252 §3.1 option format, repeated until the end of the datagram or the payload marker:
    /// <code>
    /// | delta (4) | length (4) | extended delta (0–2 B) | extended length (0–2 B) | value (length B) |
    /// </code>
    /// A nibble 0–12 is the value itself; 13 → one extra byte + 13; 14 → two extra bytes (big-endian) + 269; 15 is
    /// reserved (only 0xFF as a whole byte is the payload marker, and the marker must be followed by a payload).
    /// Returns false at the end of the options or on an error (<see cref="Error"/>).
    /// </summary>
    public bool TryReadOption(out int number, out ReadOnlySpan<byte> value)
    {
        number = 0;
        value = default;
        if (_done)
        {
            return false;
        }
        var span = _datagram;
        if (_position >= span.Length)
        {
            return Finish(span.Length);
        }
        var header = span[_position];
        if (header == 0xFF)
        {
            // §3: "The presence of a marker followed by a zero-length payload MUST be processed as a message format error."
            return _position + 1 == span.Length ? Fail(CoapParseError.BadOptions) : Finish(_position + 1);
        }
        var pos = _position + 1;
        if (!TryReadExtended(span, ref pos, header >> 4, out var delta) || !TryReadExtended(span, ref pos, header & 0x0F, out var length))
        {
            return Fail(CoapParseError.BadOptions);
        }
        var next = _number + delta;
        if (next > ushort.MaxValue || length > span.Length - pos)
        {
            return Fail(CoapParseError.BadOptions);
        }
        _number = next;
        number = next;
        value = span.Slice(pos, length);
        ValueOffset = pos;
        _position = pos + length;
        return true;
    }

    private bool Finish(int payloadOffset)
    {
        PayloadOffset = payloadOffset;
        _done = true;
        return false;
    }

    private bool Fail(CoapParseError error)
    {
        Error = error;
        _done = true;
        return false;
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
}
