using System.Net;
using System.Net.Sockets;
using System.Text;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.DtlsBench;

/// <summary>One full DTLS 1.2 PSK handshake from a given source address with BouncyCastle's client (what a device does).</summary>
internal static class BenchPskClient
{
    private static readonly BcTlsCrypto Crypto = new(new SecureRandom());

    /// <summary>Handshakes from <paramref name="bind"/>; drops the socket afterwards without close_notify unless <paramref name="close"/>.</summary>
    public static void Handshake(IPEndPoint server, IPEndPoint bind, string identity, byte[] key, int suite, bool close, byte[]? request)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(bind);
        socket.Connect(server);
        var peer = new Client(Crypto, identity, key, suite);
        var session = new DtlsClientProtocol().Connect(peer, new ConnectedUdp(socket));
        if (request is not null)
        {
            session.Send(request, 0, request.Length);
            var buffer = new byte[1500];
            if (session.Receive(buffer, 0, buffer.Length, 5000) < 0)
            {
                throw new TimeoutException("no answer to the request");
            }
        }
        if (close)
        {
            session.Close();
        }
    }

    public static byte[] Key(string text) => Encoding.ASCII.GetBytes(text);

    private sealed class Client(TlsCrypto crypto, string identity, byte[] key, int suite)
        : PskTlsClient(crypto, new BasicTlsPskIdentity(identity, key))
    {
        public override int GetHandshakeTimeoutMillis() => 10_000;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => [suite];
    }

    private sealed class ConnectedUdp(Socket socket) : DatagramTransport
    {
        public int GetReceiveLimit() => 1500;

        public int GetSendLimit() => 1500;

        public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

        public int Receive(Span<byte> buffer, int waitMillis)
        {
            if (!socket.Poll(waitMillis == 0 ? -1 : waitMillis * 1000, SelectMode.SelectRead))
            {
                return -1;
            }
            try
            {
                return socket.Receive(buffer);
            }
            catch (SocketException)
            {
                return -1; // ICMP port unreachable surfaces here; the handshake retransmits
            }
        }

        public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

        public void Send(ReadOnlySpan<byte> buffer)
        {
            try
            {
                socket.Send(buffer);
            }
            catch (SocketException)
            {
                // a lost datagram
            }
        }

        public void Close()
        {
        }
    }
}
