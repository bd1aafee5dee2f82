using System.Buffers.Binary;

namespace NHub.Coap;

/// <summary>Which RFC 8323 message framing a reliable connection uses.</summary>
public enum CoapFramingKind
{
    /// <summary>RFC 8323 §3.2: <c>coap+tcp</c> and <c>coaps+tcp</c>; a length field delimits each message in the byte stream.</summary>
    Tcp,

    /// <summary>RFC 8323 §4.2: <c>coap+ws</c> and <c>coaps+ws</c>; one message per binary WebSocket message, Len = 0, no extended length.</summary>
    WebSocket,
}

/// <summary>What <see cref="CoapFraming.TryReadFrame"/> found at the start of a buffer.</summary>
public enum FrameStatus
{
    /// <summary>A complete frame: its length is given.</summary>
    Complete,

    /// <summary>The frame is not complete yet: read more bytes.</summary>
    NeedMore,

    /// <summary>The frame announces more bytes than the receiver accepts (a connection error: Abort).</summary>
    TooLarge,

    /// <summary>Token length 9–15 (RFC 8323 §3.2 keeps RFC 7252's rule: a message format error).</summary>
    BadTokenLength,
}

/// <summary>
/// The CoAP-over-reliable-transports message framing (RFC 8323 §3.2, §4.2), and its conversion to and from the
/// RFC 7252 §3 datagram form that the rest of this library reads and writes. The two forms differ only in their
/// first bytes: the datagram's <c>Ver | T | TKL | Code | Message ID</c> becomes <c>Len | TKL | Extended Length | Code</c>;
/// token, options and payload are the same bytes. So a reliable transport converts a frame to a datagram (with a type
/// and message id of its choosing), lets the message layer process it unchanged, and converts what comes back.
/// <code>
/// RFC 8323 §3.2:
///  0 1 2 3 4 5 6 7
/// | Len   |  TKL  | Extended Length (0, 1, 2 or 4 bytes) | Code | Token (TKL bytes) | Options | 0xFF Payload
/// </code>
/// Len is the length of options and payload: 0–12 as is; 13: one extended byte holding length − 13; 14: two bytes,
/// length − 269; 15: four bytes, length − 65805. Over WebSockets (§4.2) Len is 0 and there is no extended length: the
/// WebSocket message delimits the CoAP message. Nothing here allocates or throws for any input.
/// </summary>
public static class CoapFraming
{
    private const int OneByteBase = 13;
    private const int TwoByteBase = 269;
    private const int FourByteBase = 65805;

    /// <summary>
    /// Looks for one complete frame at the start of <paramref name="buffer"/> (a TCP byte stream). A frame whose
    /// length (header, token, options and payload) exceeds <paramref name="maxFrameLength"/> is
    /// <see cref="FrameStatus.TooLarge"/> as soon as its header is read, so a peer cannot make the receiver buffer it.
    /// </summary>
    public static FrameStatus TryReadFrame(ReadOnlySpan<byte> buffer, int maxFrameLength, out int frameLength)
    {
        frameLength = 0;
        if (buffer.IsEmpty)
        {
            return FrameStatus.NeedMore;
        }
        var tokenLength = buffer[0] & 0x0F;
        if (tokenLength > 8)
        {
            return FrameStatus.BadTokenLength;
        }
        var extended = ExtendedLengthBytes(buffer[0] >> 4);
        if (buffer.Length < 1 + extended)
        {
            return FrameStatus.NeedMore;
        }
        var body = BodyLength(buffer, extended);
        var total = 1 + extended + 1 + tokenLength + body;
        if (total > maxFrameLength)
        {
            return FrameStatus.TooLarge;
        }
        if (buffer.Length < total)
        {
            return FrameStatus.NeedMore;
        }
        frameLength = (int)total;
        return FrameStatus.Complete;
    }

    /// <summary>
    /// Bytes <paramref name="frame"/> takes in the datagram form (RFC 7252 §3), or −1 when it is not a well-formed
    /// frame of <paramref name="kind"/> (truncated, token length 9–15, or — over WebSockets — a non-zero Len).
    /// </summary>
    public static int DatagramLength(ReadOnlySpan<byte> frame, CoapFramingKind kind) =>
        TryLocate(frame, kind, out _, out var tokenOffset) ? 4 + frame.Length - tokenOffset : -1;

    /// <summary>
    /// Writes <paramref name="frame"/> as an RFC 7252 datagram with <paramref name="type"/> and
    /// <paramref name="messageId"/> into <paramref name="destination"/>. False for a malformed frame or a destination
    /// shorter than <see cref="DatagramLength"/>.
    /// </summary>
    public static bool TryToDatagram(ReadOnlySpan<byte> frame, CoapFramingKind kind, CoapMessageType type, ushort messageId, Span<byte> destination,
        out int written)
    {
        written = 0;
        if (!TryLocate(frame, kind, out var tokenLength, out var bodyOffset))
        {
            return false;
        }
        // bodyOffset points at the token (after Len/TKL, the extended length and the code).
        var rest = frame[bodyOffset..];
        var length = 4 + rest.Length;
        if (destination.Length < length)
        {
            return false;
        }
        destination[0] = (byte)(0x40 | ((int)type << 4) | tokenLength); // Ver = 1 (RFC 7252 §3)
        destination[1] = frame[bodyOffset - 1];
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], messageId);
        rest.CopyTo(destination[4..]);
        written = length;
        return true;
    }

    /// <summary>Bytes the RFC 7252 datagram <paramref name="datagram"/> takes as a frame of <paramref name="kind"/>; −1 if it is not CoAP.</summary>
    public static int FrameLength(ReadOnlySpan<byte> datagram, CoapFramingKind kind)
    {
        if (!TryReadDatagramHeader(datagram, out var tokenLength))
        {
            return -1;
        }
        var body = datagram.Length - 4 - tokenLength;
        return 1 + (kind == CoapFramingKind.Tcp ? ExtendedLengthBytes(LenNibble(body)) : 0) + 1 + tokenLength + body;
    }

    /// <summary>
    /// Writes the RFC 7252 datagram <paramref name="datagram"/> (its type and message id are dropped: a reliable
    /// transport has neither, RFC 8323 §3.2) as a frame of <paramref name="kind"/>. False when it is not CoAP or
    /// <paramref name="destination"/> is shorter than <see cref="FrameLength"/>.
    /// </summary>
    public static bool TryFromDatagram(ReadOnlySpan<byte> datagram, CoapFramingKind kind, Span<byte> destination, out int written)
    {
        written = 0;
        var length = FrameLength(datagram, kind);
        if (length < 0 || destination.Length < length)
        {
            return false;
        }
        var tokenLength = datagram[0] & 0x0F;
        var rest = datagram[(4 + tokenLength)..];
        var position = 1;
        if (kind == CoapFramingKind.WebSocket)
        {
            destination[0] = (byte)tokenLength; // §4.2: Len = 0
        }
        else
        {
            var nibble = LenNibble(rest.Length);
            destination[0] = (byte)((nibble << 4) | tokenLength);
            switch (nibble)
            {
                case 13:
                    destination[position++] = (byte)(rest.Length - OneByteBase);
                    break;
                case 14:
                    BinaryPrimitives.WriteUInt16BigEndian(destination[position..], (ushort)(rest.Length - TwoByteBase));
                    position += 2;
                    break;
                case 15:
                    BinaryPrimitives.WriteUInt32BigEndian(destination[position..], (uint)(rest.Length - FourByteBase));
                    position += 4;
                    break;
            }
        }
        destination[position++] = datagram[1];
        datagram.Slice(4, tokenLength).CopyTo(destination[position..]);
        rest.CopyTo(destination[(position + tokenLength)..]);
        written = length;
        return true;
    }

    /// <summary>The code of a frame (the byte after Len/TKL and the extended length), or null when the header is incomplete.</summary>
    public static CoapCode? CodeOf(ReadOnlySpan<byte> frame, CoapFramingKind kind)
    {
        if (frame.IsEmpty)
        {
            return null;
        }
        var offset = 1 + (kind == CoapFramingKind.Tcp ? ExtendedLengthBytes(frame[0] >> 4) : 0);
        return frame.Length > offset ? new CoapCode(frame[offset]) : null;
    }

    /// <summary>Token length and the offset of the token; validates that the frame's length field matches its bytes.</summary>
    private static bool TryLocate(ReadOnlySpan<byte> frame, CoapFramingKind kind, out int tokenLength, out int tokenOffset)
    {
        tokenLength = 0;
        tokenOffset = 0;
        if (frame.Length < 2)
        {
            return false;
        }
        tokenLength = frame[0] & 0x0F;
        if (tokenLength > 8)
        {
            return false;
        }
        var len = frame[0] >> 4;
        if (kind == CoapFramingKind.WebSocket)
        {
            // §4.2: "the Length (Len) field MUST be set to zero"; the WebSocket message gives the length.
            tokenOffset = 2;
            return len == 0 && frame.Length >= tokenOffset + tokenLength;
        }
        var extended = ExtendedLengthBytes(len);
        if (frame.Length < 2 + extended)
        {
            return false;
        }
        tokenOffset = 2 + extended;
        return frame.Length == tokenOffset + tokenLength + BodyLength(frame, extended);
    }

    private static bool TryReadDatagramHeader(ReadOnlySpan<byte> datagram, out int tokenLength)
    {
        tokenLength = 0;
        if (datagram.Length < 4 || (datagram[0] >> 6) != 1)
        {
            return false;
        }
        tokenLength = datagram[0] & 0x0F;
        return tokenLength <= 8 && datagram.Length >= 4 + tokenLength;
    }

    /// <summary>RFC 8323 §3.2: Len 13, 14, 15 announce 1, 2, 4 bytes of extended length.</summary>
    private static int ExtendedLengthBytes(int len) => len switch
    {
        13 => 1,
        14 => 2,
        15 => 4,
        _ => 0,
    };

    private static int LenNibble(int bodyLength) => bodyLength switch
    {
        < OneByteBase => bodyLength,
        < TwoByteBase => 13,
        < FourByteBase => 14,
        _ => 15,
    };

    /// <summary>Options-and-payload length from Len and the extended length bytes (as a long: the 4-byte form can exceed int).</summary>
    private static long BodyLength(ReadOnlySpan<byte> frame, int extended) => extended switch
    {
        1 => frame[1] + (long)OneByteBase,
        2 => BinaryPrimitives.ReadUInt16BigEndian(frame[1..]) + (long)TwoByteBase,
        4 => BinaryPrimitives.ReadUInt32BigEndian(frame[1..]) + (long)FourByteBase,
        _ => frame[0] >> 4,
    };
}
