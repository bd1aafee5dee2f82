using System.Net;
using System.Net.Sockets;
using System.Text;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;

namespace NHub.Gateway.Tests.Support;

/// <summary>A BouncyCastle DTLS 1.2 PSK client on its own UDP socket: what a device does, in-process.</summary>
public sealed class BcDtlsClient : IDisposable
{
    private static readonly BcTlsCrypto Crypto = new(new SecureRandom());

    private readonly ClientUdpTransport _transport;

    private BcDtlsClient(Socket socket, ClientUdpTransport transport, BcDtlsTransport session, TestPskClient peer)
    {
        _transport = transport;
        Socket = socket;
        Session = session;
        Peer = peer;
    }

    public Socket Socket { get; }

    public BcDtlsTransport Session { get; }

    public TestPskClient Peer { get; }

    /// <summary>The last datagram written to the wire (ciphertext, for replay tests).</summary>
    public byte[]? LastSent => _transport.LastSent;

    public IPEndPoint LocalEndPoint => (IPEndPoint)Socket.LocalEndPoint!;

    /// <summary>Handshakes (blocking). Throws what BouncyCastle throws: TlsFatalAlertReceived, TlsTimeoutException.</summary>
    public static BcDtlsClient Connect(EndPoint server, string identity, string key, int[]? cipherSuites = null, int handshakeTimeoutMillis = 5000, IPEndPoint? bind = null) =>
        Connect(server, identity, Encoding.ASCII.GetBytes(key), cipherSuites, handshakeTimeoutMillis, bind);

    /// <summary>Handshakes with a PSK given as raw bytes (a binary-format credential's decoded key).</summary>
    public static BcDtlsClient Connect(EndPoint server, string identity, byte[] key, int[]? cipherSuites = null, int handshakeTimeoutMillis = 5000, IPEndPoint? bind = null)
    {
        var socket = new Socket(bind?.AddressFamily ?? AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(bind ?? new IPEndPoint(IPAddress.Loopback, 0));
            socket.Connect(server);
            var peer = new TestPskClient(Crypto, identity, key, cipherSuites ?? [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8], handshakeTimeoutMillis);
            var transport = new ClientUdpTransport(socket);
            var session = new DtlsClientProtocol().Connect(peer, transport);
            return new BcDtlsClient(socket, transport, session, peer);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends a CoAP request and returns the first application record that comes back, or null on timeout.</summary>
    public byte[]? Exchange(byte[] request, int waitMillis = 5000)
    {
        Session.Send(request, 0, request.Length);
        return ReceiveOne(waitMillis);
    }

    public byte[]? ReceiveOne(int waitMillis)
    {
        var buffer = new byte[2048];
        var n = Session.Receive(buffer, 0, buffer.Length, waitMillis);
        return n < 0 ? null : buffer[..n];
    }

    /// <summary>Drops the socket without close_notify: a device that lost power.</summary>
    public void Dispose() => Socket.Dispose();

    /// <summary>BouncyCastle's PSK client restricted to DTLS 1.2 and the given suites; records alerts and the outcome.</summary>
    public sealed class TestPskClient(TlsCrypto crypto, string identity, byte[] key, int[] suites, int handshakeTimeoutMillis)
        : PskTlsClient(crypto, new BasicTlsPskIdentity(identity, key))
    {
        public int NegotiatedCipherSuite { get; private set; } = -1;

        /// <summary>Completes with the description of the first alert received after the handshake (close_notify = 0).</summary>
        public TaskCompletionSource<short> AlertReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMillis;

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            NegotiatedCipherSuite = m_context.SecurityParameters.CipherSuite;
        }

        public override void NotifyAlertReceived(short alertLevel, short alertDescription) => AlertReceived.TrySetResult(alertDescription);

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, suites);
    }

    /// <summary>A connected UDP socket as BouncyCastle's DatagramTransport (wait 0 = forever, -1 = timed out).</summary>
    private sealed class ClientUdpTransport(Socket socket) : DatagramTransport
    {
        public byte[]? LastSent { get; private set; }

        public int GetReceiveLimit() => 1500;

        public int GetSendLimit() => 1500;

        public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

        public int Receive(Span<byte> buffer, int waitMillis)
        {
            try
            {
                if (!socket.Poll(waitMillis == 0 ? -1 : waitMillis * 1000, SelectMode.SelectRead))
                {
                    return -1;
                }
                return socket.Receive(buffer);
            }
            catch (ObjectDisposedException)
            {
                throw new IOException("socket closed");
            }
        }

        public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

        public void Send(ReadOnlySpan<byte> buffer)
        {
            try
            {
                socket.Send(buffer);
                LastSent = buffer.ToArray();
            }
            catch (SocketException)
            {
                // lost datagram
            }
        }

        public void Close()
        {
        }
    }
}
