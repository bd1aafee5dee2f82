using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.Gateway.Tests.Support;

/// <summary>Hand-built DTLS records and ClientHellos for tests that talk to the server below BouncyCastle's client.</summary>
public static class DtlsWire
{
    /// <summary>record(13) + handshake header(12) + client_version(2) + random(32): where session_id's length sits.</summary>
    private const int SessionIdAt = 13 + 12 + 2 + 32;

    /// <summary>The first datagram a BouncyCastle client sends: a ClientHello without a cookie.</summary>
    public static byte[] CaptureClientHello()
    {
        var capture = new CaptureTransport();
        var client = new BcDtlsClient.TestPskClient(new BcTlsCrypto(new SecureRandom()), "x", [1], [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8], 1000);
        Assert.ThrowsAny<Exception>(() => new DtlsClientProtocol().Connect(client, capture));
        return capture.First!;
    }

    /// <summary>The same ClientHello (which has none) carrying <paramref name="cookie"/>; lengths fixed up (RFC 6347 §4.2.2).</summary>
    public static byte[] WithCookie(byte[] clientHello, ReadOnlySpan<byte> cookie)
    {
        var cookieAt = SessionIdAt + 1 + clientHello[SessionIdAt];
        Assert.Equal(0, clientHello[cookieAt]);
        var grow = cookie.Length;
        var result = new byte[clientHello.Length + grow];
        clientHello.AsSpan(0, cookieAt).CopyTo(result);
        result[cookieAt] = (byte)grow;
        cookie.CopyTo(result.AsSpan(cookieAt + 1));
        clientHello.AsSpan(cookieAt + 1).CopyTo(result.AsSpan(cookieAt + 1 + grow));
        // The handshake length, the fragment length and the record length all grow by the cookie.
        var bodyLength = (clientHello[14] << 16 | clientHello[15] << 8 | clientHello[16]) + grow;
        WriteUInt24(result, 14, bodyLength);
        WriteUInt24(result, 22, bodyLength);
        WriteUInt16(result, 11, (clientHello[11] << 8 | clientHello[12]) + grow);
        return result;
    }

    /// <summary>The same ClientHello with a 32-byte cookie that the server never issued.</summary>
    public static byte[] ForgeCookie(byte[] clientHello) => WithCookie(clientHello, RandomBytes(32));

    /// <summary>True for a HelloVerifyRequest (RFC 6347 §4.2.1: handshake type 3); its cookie in <paramref name="cookie"/>.</summary>
    public static bool TryReadHelloVerifyRequest(ReadOnlySpan<byte> datagram, out byte[] cookie)
    {
        cookie = [];
        // record(13) + handshake header(12) + server_version(2) + cookie<0..2^8-1>
        if (datagram.Length < 13 + 12 + 3 || datagram[0] != 22 || datagram[13] != 3)
        {
            return false;
        }
        var length = datagram[13 + 12 + 2];
        cookie = datagram.Slice(13 + 12 + 3, length).ToArray();
        return true;
    }

    /// <summary>The handshake type of the first record when it is an epoch-0 handshake record (2 = ServerHello), else -1.</summary>
    public static int HandshakeType(ReadOnlySpan<byte> datagram) => datagram.Length > 13 && datagram[0] == 22 ? datagram[13] : -1;

    /// <summary>A tls12_cid record (RFC 9146 §4): the CID between sequence number and length.</summary>
    public static byte[] CidRecord(byte[] cid, ushort epoch, long sequence, byte[] fragment)
    {
        var plain = Record(25, epoch, sequence, fragment);
        return [.. plain.AsSpan(0, 11), .. cid, .. plain.AsSpan(11)];
    }

    public static byte[] Record(byte type, ushort epoch, long sequence, byte[] fragment)
    {
        var record = new byte[13 + fragment.Length];
        record[0] = type;
        record[1] = 0xFE;
        record[2] = 0xFD;
        WriteUInt16(record, 3, epoch);
        for (var i = 0; i < 6; i++)
        {
            record[5 + i] = (byte)(sequence >> (8 * (5 - i)));
        }
        WriteUInt16(record, 11, fragment.Length);
        fragment.CopyTo(record, 13);
        return record;
    }

    public static byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private static void WriteUInt16(byte[] b, int at, int v)
    {
        b[at] = (byte)(v >> 8);
        b[at + 1] = (byte)v;
    }

    private static void WriteUInt24(byte[] b, int at, int v)
    {
        b[at] = (byte)(v >> 16);
        b[at + 1] = (byte)(v >> 8);
        b[at + 2] = (byte)v;
    }

    /// <summary>Keeps the first datagram BouncyCastle sends and fails every receive.</summary>
    private sealed class CaptureTransport : DatagramTransport
    {
        public byte[]? First { get; private set; }

        public int GetReceiveLimit() => 1500;

        public int GetSendLimit() => 1500;

        public int Receive(byte[] buf, int off, int len, int waitMillis) => throw new IOException("capture only");

        public int Receive(Span<byte> buffer, int waitMillis) => throw new IOException("capture only");

        public void Send(byte[] buf, int off, int len) => First ??= buf.AsSpan(off, len).ToArray();

        public void Send(ReadOnlySpan<byte> buffer) => First ??= buffer.ToArray();

        public void Close()
        {
        }
    }
}
