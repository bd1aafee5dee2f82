using System.Buffers.Binary;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Notices, during the handshake, a client Finished that BouncyCastle silently discarded because it failed
/// authentication. The client's last flight is ClientKeyExchange and ChangeCipherSpec at epoch 0, then Finished at
/// epoch 1, encrypted with keys derived from the PSK (RFC 5246 §7.4.9, RFC 6347 §4.1). With a wrong key the
/// Finished record fails its MAC, and BouncyCastle 2.7.0 drops it (RFC 6347 §4.1.2.7 lets it) and waits for the
/// handshake timeout, holding a handshake thread. A Finished that passes makes the server answer at once with its
/// own ChangeCipherSpec and Finished, before it reads again. So: once a ClientKeyExchange, then a ChangeCipherSpec,
/// then an epoch-1 handshake record were handed to BouncyCastle in that order, a read request with nothing sent in
/// between means the Finished was rejected. Only records BouncyCastle actually took count, and the order rules out
/// a Finished dropped for arriving before the ChangeCipherSpec (reordering) or before the key exchange (loss).
/// </summary>
internal struct FinishedWatch
{
    private const byte ClientKeyExchange = 16; // RFC 5246 §7.4 HandshakeType

    private bool _keyExchange;
    private bool _changeCipherSpec;

    /// <summary>A client Finished was handed over and the server has sent nothing since.</summary>
    public bool Unanswered { get; private set; }

    /// <summary>A datagram BouncyCastle took during the handshake: walk its records (several may share it, RFC 6347 §4.1.1).</summary>
    public void OnServed(ReadOnlySpan<byte> datagram)
    {
        while (datagram.Length >= DtlsRecordHeader.Size)
        {
            var type = datagram[0];
            var epoch = BinaryPrimitives.ReadUInt16BigEndian(datagram[3..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(datagram[11..]);
            if (DtlsRecordHeader.Size + length > datagram.Length)
            {
                return;
            }
            var fragment = datagram.Slice(DtlsRecordHeader.Size, length);
            switch (type)
            {
                case DtlsRecordHeader.Handshake when epoch == 0 && length > 0 && fragment[0] == ClientKeyExchange:
                    _keyExchange = true;
                    break;
                case DtlsRecordHeader.ChangeCipherSpec when epoch == 0 && _keyExchange:
                    _changeCipherSpec = true;
                    break;
                case DtlsRecordHeader.Handshake when epoch == 1 && _changeCipherSpec:
                    Unanswered = true;
                    break;
            }
            datagram = datagram[(DtlsRecordHeader.Size + length)..];
        }
    }

    /// <summary>The server sent something: whatever it received was accepted.</summary>
    public void OnSent() => Unanswered = false;
}
