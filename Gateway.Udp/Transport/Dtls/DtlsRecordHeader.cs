using System.Buffers.Binary;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The first record header of a datagram, read without decrypting anything. RFC 6347 §4.1:
/// <code>
/// struct { ContentType type; ProtocolVersion version; uint16 epoch; uint48 sequence_number;
///          uint16 length; opaque fragment[length]; } DTLSPlaintext;   // 13-byte header
/// </code>
/// A ClientHello is a handshake record (type 22) at epoch 0 whose fragment starts with msg_type 1 (§4.2.2).
/// </summary>
internal readonly record struct DtlsRecordHeader(byte ContentType, ushort Epoch, long SequenceNumber, int FragmentLength)
{
    public const int Size = 13;

    public const byte ChangeCipherSpec = 20;
    public const byte Alert = 21;
    public const byte Handshake = 22;
    public const byte ApplicationData = 23;
    public const byte Heartbeat = 24;
    public const byte ConnectionId = 25; // RFC 9146 tls12_cid

    private const byte DtlsMajorVersion = 0xFE; // DTLS 1.0 = {254,255}, DTLS 1.2 = {254,253}
    private const byte ClientHelloType = 1;

    /// <summary>
    /// ClientHello.random of a verified (hence unfragmented) ClientHello: after the record header, the 12-byte
    /// handshake header (RFC 6347 §4.2.2) and client_version (2 bytes) come 32 random bytes.
    /// </summary>
    public static ReadOnlySpan<byte> ClientHelloRandom(ReadOnlySpan<byte> datagram) => datagram.Slice(Size + 12 + 2, 32);

    /// <summary>
    /// Whether a ClientHello (not yet verified: every offset is checked) carries a non-empty cookie. RFC 6347 §4.2.2:
    /// after client_version and random come session_id&lt;0..32&gt; and cookie&lt;0..2^8-1&gt;, each with a one-byte length.
    /// </summary>
    public static bool ClientHelloHasCookie(ReadOnlySpan<byte> datagram)
    {
        const int SessionIdAt = Size + 12 + 2 + 32;
        if (datagram.Length <= SessionIdAt)
        {
            return false;
        }
        var cookieAt = SessionIdAt + 1 + datagram[SessionIdAt];
        return datagram.Length > cookieAt && datagram[cookieAt] > 0;
    }

    /// <summary>True when <paramref name="datagram"/> starts with a well-formed record header of a known type whose fragment fits.</summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, out DtlsRecordHeader header, out bool isClientHello)
    {
        header = default;
        isClientHello = false;
        if (datagram.Length < Size)
        {
            return false;
        }
        var type = datagram[0];
        if (type is < ChangeCipherSpec or > ConnectionId || datagram[1] != DtlsMajorVersion)
        {
            return false;
        }
        var epoch = BinaryPrimitives.ReadUInt16BigEndian(datagram[3..]);
        var sequence = ((long)BinaryPrimitives.ReadUInt16BigEndian(datagram[5..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(datagram[7..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[11..]);
        // A CID record's length sits after the CID, whose size only the session knows: only check it fits at all.
        if (type != ConnectionId && Size + length > datagram.Length)
        {
            return false;
        }
        header = new DtlsRecordHeader(type, epoch, sequence, length);
        isClientHello = type == Handshake && epoch == 0 && length > 0 && datagram[Size] == ClientHelloType;
        return true;
    }
}
