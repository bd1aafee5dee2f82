using NHub.Gateway.Transport.Dtls;
using Org.BouncyCastle.Tls;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>
/// A device's epoch-1 records once its handshake is done: the gateway's own record cipher
/// (<see cref="DtlsRecordCipher"/>, linked from Gateway.Udp) on the client side: CCM on AES-NI, GCM and CBC on .NET's. BouncyCastle
/// runs the handshake only; what a request then costs the generator is what it costs the gateway, not BouncyCastle's
/// managed CCM and its record loop (which also threw an exception per datagram to end a pump). Not thread-safe: the
/// device's lock serialises every call.
/// <list type="bullet">
/// <item>Sending: our sequence numbers continue past the ones BouncyCastle used for the Finished flight
/// (<see cref="FirstSequence"/>). A gap is fine for the server's replay window (RFC 6347 §4.1.2.6 slides it forward);
/// a number used twice would not be, and the nonce of an AEAD suite is epoch ‖ sequence (RFC 6655 §3).</item>
/// <item>Receiving: application data and alerts of epoch 1 are opened; a handshake record of epoch 1 is the server's
/// Finished sent again and is ignored; records that do not authenticate are dropped (RFC 6347 §4.1.2.7). There is no
/// replay window: a generator counts what it gets, and a duplicated datagram shows up as a stray response.</item>
/// <item>CIDs (RFC 9146): records we send carry the server's CID (BouncyCastle's ConnectionIDLocal on a client),
/// records we receive the one we offered, if it was not empty (ConnectionIDPeer).</item>
/// </list>
/// </summary>
internal sealed class ClientRecordLayer : IDisposable
{
    /// <summary>The only application epoch (no renegotiation).</summary>
    public const ushort Epoch = 1;

    /// <summary>
    /// BouncyCastle sent its Finished at epoch 1, sequence 0, and one more number for each retransmission of that
    /// flight; 64 leaves room for far more retransmissions than a bounded handshake makes.
    /// </summary>
    public const long FirstSequence = 64;

    private const byte AlertWarning = 1;
    private const byte CloseNotify = 0;

    private readonly DtlsRecordCipher _cipher;
    private readonly byte[] _sendCid;
    private readonly int _receiveCidLength;
    private long _nextSequence = FirstSequence;

    private ClientRecordLayer(DtlsRecordCipher cipher, byte[] sendCid, int receiveCidLength)
    {
        _cipher = cipher;
        _sendCid = sendCid;
        _receiveCidLength = receiveCidLength;
    }

    /// <summary>From a client's finished handshake (called in NotifyHandshakeComplete, while the master secret is still there).</summary>
    public static ClientRecordLayer From(SecurityParameters parameters)
    {
        var keyBlock = DtlsRecordCipher.DeriveKeyBlock(parameters)
            ?? throw new TlsFatalAlert(AlertDescription.internal_error, $"no record layer for cipher suite {parameters.CipherSuite}");
        var cipher = DtlsRecordCipher.Create(parameters.CipherSuite, parameters.IsEncryptThenMac, keyBlock, clientSide: true);
        return new ClientRecordLayer(cipher, parameters.ConnectionIDLocal ?? [], parameters.ConnectionIDPeer?.Length ?? 0);
    }

    /// <summary>The largest record for <paramref name="contentLength"/> bytes of application data.</summary>
    public int RecordLength(int contentLength) => _cipher.RecordLength(contentLength, _sendCid.Length);

    /// <summary>Seals <paramref name="content"/> as one application-data record into <paramref name="output"/>; returns its length.</summary>
    public int SealApplicationData(ReadOnlySpan<byte> content, Span<byte> output) =>
        _cipher.Seal(DtlsRecordHeader.ApplicationData, Epoch, _nextSequence++, _sendCid, content, output);

    /// <summary>A close_notify alert (RFC 5246 §7.2.1): level warning, description 0.</summary>
    public int SealCloseNotify(Span<byte> output) =>
        _cipher.Seal(DtlsRecordHeader.Alert, Epoch, _nextSequence++, _sendCid, [AlertWarning, CloseNotify], output);

    /// <summary>
    /// Opens the record of <paramref name="datagram"/> that starts at <paramref name="offset"/> and moves the offset past
    /// it. Returns the application data's length in <paramref name="plaintext"/>, <see cref="Skipped"/> for a record
    /// that held none (or did not authenticate), <see cref="Ended"/> for an alert that ends the session, and
    /// <see cref="NoMore"/> at the end of the datagram or at a malformed record (the rest is then dropped).
    /// </summary>
    public int Open(ReadOnlySpan<byte> datagram, ref int offset, Span<byte> plaintext)
    {
        if (offset >= datagram.Length || !DtlsRecord.TryRead(datagram[offset..], _receiveCidLength, out var record, out var consumed))
        {
            return NoMore;
        }
        offset += consumed;
        var type = record.OuterType;
        if (record.Epoch != Epoch || type is not (DtlsRecordHeader.ApplicationData or DtlsRecordHeader.Alert or DtlsRecordHeader.ConnectionId))
        {
            return Skipped; // epoch 0 (cannot be authenticated) or the server's Finished again
        }
        if (!_cipher.TryOpen(type, Epoch, record.Sequence, record.ConnectionId, record.Fragment, plaintext, out var length, out var contentType))
        {
            return Skipped;
        }
        return contentType switch
        {
            DtlsRecordHeader.ApplicationData => length,
            // RFC 5246 §7.2: close_notify or any fatal alert ends the session; other warnings do not.
            DtlsRecordHeader.Alert when length >= 2 && (plaintext[0] != AlertWarning || plaintext[1] == CloseNotify) => Ended,
            _ => Skipped,
        };
    }

    public const int Skipped = -1;
    public const int Ended = -2;
    public const int NoMore = -3;

    public void Dispose() => _cipher.Dispose();
}
