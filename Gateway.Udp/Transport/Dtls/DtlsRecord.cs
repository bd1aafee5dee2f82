using System.Buffers.Binary;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// One record of a datagram, parsed without decrypting (RFC 6347 §4.1, RFC 9146 §4 for tls12_cid records, whose CID of
/// the session's fixed length sits between sequence number and length).
/// </summary>
internal readonly ref struct DtlsRecord(byte outerType, ushort epoch, long sequence, ReadOnlySpan<byte> connectionId, ReadOnlySpan<byte> fragment)
{
    public byte OuterType { get; } = outerType;
    public ushort Epoch { get; } = epoch;
    public long Sequence { get; } = sequence;
    public ReadOnlySpan<byte> ConnectionId { get; } = connectionId;
    public ReadOnlySpan<byte> Fragment { get; } = fragment;

    public bool UsesConnectionId => OuterType == DtlsRecordHeader.ConnectionId;

    /// <summary>Reads the first record of <paramref name="datagram"/>; false when it is malformed (the rest of the datagram is then dropped).</summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, int cidLength, out DtlsRecord record, out int consumed)
    {
        record = default;
        consumed = 0;
        if (datagram.Length < DtlsRecordHeader.Size)
        {
            return false;
        }
        var type = datagram[0];
        if (datagram[1] != 0xFE || datagram[2] != 0xFD)
        {
            return false; // RFC 6347 §4.1: after the handshake every record carries the negotiated version, DTLS 1.2
        }
        var epoch = BinaryPrimitives.ReadUInt16BigEndian(datagram[3..]);
        var sequence = ((long)BinaryPrimitives.ReadUInt16BigEndian(datagram[5..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(datagram[7..]);
        var cid = type == DtlsRecordHeader.ConnectionId ? cidLength : 0;
        if (type == DtlsRecordHeader.ConnectionId && cidLength == 0)
        {
            return false;
        }
        var lengthAt = 11 + cid;
        if (datagram.Length < lengthAt + 2)
        {
            return false;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[lengthAt..]);
        var fragmentAt = lengthAt + 2;
        if (datagram.Length - fragmentAt < length)
        {
            return false;
        }
        record = new DtlsRecord(type, epoch, sequence, datagram.Slice(11, cid), datagram.Slice(fragmentAt, length));
        consumed = fragmentAt + length;
        return true;
    }
}
