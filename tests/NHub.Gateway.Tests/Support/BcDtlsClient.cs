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

    private readonly EndPoint _server;

    private readonly TlsClient _peer;

    private BcDtlsClient(EndPoint server, ClientUdpTransport transport, BcDtlsTransport session, TlsClient peer)
    {
        _server = server;
        _transport = transport;
        Session = session;
        _peer = peer;
    }

    /// <summary>The client's current socket (replaced by <see cref="MoveToNewPort"/>).</summary>
    public Socket Socket => _transport.Socket;

    public BcDtlsTransport Session { get; }

    /// <summary>The PSK client of a session made by <see cref="Connect(EndPoint, string, string, int[], int, IPEndPoint, byte[])"/>.</summary>
    public TestPskClient Peer => (TestPskClient)_peer;

    /// <summary>The certificate client of a session made by <see cref="ConnectWithCertificate"/>.</summary>
    public TestCertificateClient CertificatePeer => (TestCertificateClient)_peer;

    /// <summary>The last datagram written to the wire (ciphertext, for replay tests).</summary>
    public byte[]? LastSent => _transport.LastSent;

    /// <summary>Every datagram the client sent, the handshake's included, oldest first.</summary>
    public IReadOnlyCollection<byte[]> Sent => _transport.Sent;

    public IPEndPoint LocalEndPoint => (IPEndPoint)Socket.LocalEndPoint!;

    /// <summary>Handshakes (blocking). Throws what BouncyCastle throws: TlsFatalAlertReceived, TlsTimeoutException.</summary>
    /// <remarks>
    /// <paramref name="connectionId"/>: null sends no connection_id extension (a client without RFC 9146); otherwise
    /// the CID this client wants in the server's records, empty for "none, but send me yours" (RFC 9146 §3).
    /// </remarks>
    public static BcDtlsClient Connect(EndPoint server, string identity, string key, int[]? cipherSuites = null, int handshakeTimeoutMillis = 5000, IPEndPoint? bind = null, byte[]? connectionId = null) =>
        Connect(server, identity, Encoding.ASCII.GetBytes(key), cipherSuites, handshakeTimeoutMillis, bind, connectionId);

    /// <summary>Handshakes with a PSK given as raw bytes (a binary-format credential's decoded key).</summary>
    public static BcDtlsClient Connect(EndPoint server, string identity, byte[] key, int[]? cipherSuites = null, int handshakeTimeoutMillis = 5000, IPEndPoint? bind = null, byte[]? connectionId = null)
        => Open(server, bind, new TestPskClient(Crypto, identity, key, cipherSuites ?? [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8], handshakeTimeoutMillis)
        {
            OfferedConnectionId = connectionId,
        });

    /// <summary>A socket bound to <paramref name="bind"/> (default: a loopback port), connected to the server, and <paramref name="peer"/>'s handshake on it.</summary>
    private static BcDtlsClient Open(EndPoint server, IPEndPoint? bind, TlsClient peer)
    {
        var socket = new Socket(bind?.AddressFamily ?? AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(bind ?? new IPEndPoint(IPAddress.Loopback, 0));
            socket.Connect(server);
            var transport = new ClientUdpTransport(socket);
            var session = new DtlsClientProtocol().Connect(peer, transport);
            return new BcDtlsClient(server, transport, session, peer);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Handshakes with ECDHE-ECDSA, authenticating with <paramref name="device"/>'s certificate (and <paramref name="chain"/>
    /// after it), or with its bare public key when <paramref name="rawPublicKey"/> (RFC 7250, asking the server for a raw key too).
    /// </summary>
    public static BcDtlsClient ConnectWithCertificate(EndPoint server, NHub.Testing.TestCertificate device, NHub.Testing.TestCertificate[]? chain = null,
        bool rawPublicKey = false, int[]? cipherSuites = null, int handshakeTimeoutMillis = 5000, TlsSession? resume = null, byte[]? connectionId = null) =>
        Open(server, null, new TestCertificateClient(Crypto, device, chain ?? [], rawPublicKey, cipherSuites ?? [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8], handshakeTimeoutMillis)
        {
            Resume = resume,
            OfferedConnectionId = connectionId,
        });

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

    /// <summary>The next record BouncyCastle writes is captured (<see cref="LastSent"/>) but never reaches the wire: a delayed datagram.</summary>
    public void HoldNextSend() => _transport.HoldNext = true;

    /// <summary>
    /// A NAT rebinding: the session (keys, sequence numbers, CID) carries on from a new socket on another local port
    /// (or <paramref name="bind"/>); the old socket is closed, so nothing sent to the old address arrives.
    /// </summary>
    public void MoveToNewPort(IPEndPoint? bind = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(bind ?? new IPEndPoint(IPAddress.Loopback, 0));
        socket.Connect(_server);
        _transport.Replace(socket).Dispose();
    }

    /// <summary>
    /// The network now takes this client's datagrams to <paramref name="server"/> (a load balancer moved the flow, the
    /// gateway died): the same session, from a new socket towards it.
    /// </summary>
    public void MoveToServer(EndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Connect(server);
        _transport.Replace(socket).Dispose();
    }

    /// <summary>Sends raw bytes from the client's current socket (a forged or replayed record).</summary>
    public void SendRaw(byte[] datagram) => Socket.Send(datagram);

    /// <summary>Drops the socket without close_notify: a device that lost power.</summary>
    public void Dispose() => Socket.Dispose();

    /// <summary>BouncyCastle's PSK client restricted to DTLS 1.2 and the given suites; records alerts and the outcome.</summary>
    public sealed class TestPskClient(TlsCrypto crypto, string identity, byte[] key, int[] suites, int handshakeTimeoutMillis)
        : PskTlsClient(crypto, new BasicTlsPskIdentity(identity, key))
    {
        public int NegotiatedCipherSuite { get; private set; } = -1;

        /// <summary>The connection_id extension to offer (null: none). Set before connecting.</summary>
        public byte[]? OfferedConnectionId { get; init; }

        /// <summary>The server's CID, which this client writes into every record it sends (null: none negotiated).</summary>
        public byte[]? ServerConnectionId { get; private set; }

        public override IDictionary<int, byte[]> GetClientExtensions()
        {
            var extensions = base.GetClientExtensions() ?? new Dictionary<int, byte[]>();
            if (OfferedConnectionId is { } cid)
            {
                TlsExtensionsUtilities.AddConnectionIDExtension(extensions, cid);
            }
            return extensions;
        }

        /// <summary>Completes with the description of the first alert received after the handshake (close_notify = 0).</summary>
        public TaskCompletionSource<short> AlertReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMillis;

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            NegotiatedCipherSuite = m_context.SecurityParameters.CipherSuite;
            // BouncyCastle's client side: ConnectionIDLocal is the CID it writes (the server's choice).
            ServerConnectionId = m_context.SecurityParameters.ConnectionIDLocal is { Length: > 0 } cid ? cid : null;
        }

        public override void NotifyAlertReceived(short alertLevel, short alertDescription) => AlertReceived.TrySetResult(alertDescription);

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, suites);
    }

    /// <summary>
    /// BouncyCastle's ECDHE-ECDSA client with a device certificate or raw key: accepts whatever the server presents and
    /// records it (the tests check it), signs CertificateVerify with the device's key.
    /// </summary>
    public sealed class TestCertificateClient(BcTlsCrypto crypto, NHub.Testing.TestCertificate device, NHub.Testing.TestCertificate[] chain, bool rawPublicKey,
        int[] suites, int handshakeTimeoutMillis) : DefaultTlsClient(crypto)
    {
        public int NegotiatedCipherSuite { get; private set; } = -1;

        /// <summary>A session of an earlier connection to offer for resumption (RFC 5246 §7.3).</summary>
        public TlsSession? Resume { get; init; }

        /// <summary>The connection_id extension to offer (null: none; empty: "send me yours", RFC 9146 §3).</summary>
        public byte[]? OfferedConnectionId { get; init; }

        /// <summary>The CID the server gave this connection (null: none).</summary>
        public byte[]? ServerConnectionId { get; private set; }

        /// <summary>This connection's session (to resume later) and whether it was a resumption.</summary>
        public TlsSession? Session { get; private set; }

        public bool Resumed { get; private set; }

        public override TlsSession? GetSessionToResume() => Resume;

        /// <summary>The type (X.509 or raw key) and DER of the first certificate the server presented.</summary>
        public (short Type, byte[] Der) ServerCertificate { get; private set; }

        public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMillis;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, suites);

        public override IDictionary<int, byte[]> GetClientExtensions()
        {
            var extensions = base.GetClientExtensions() ?? new Dictionary<int, byte[]>();
            if (OfferedConnectionId is { } cid)
            {
                TlsExtensionsUtilities.AddConnectionIDExtension(extensions, cid);
            }
            if (rawPublicKey)
            {
                TlsExtensionsUtilities.AddClientCertificateTypeExtensionClient(extensions, [CertificateType.RawPublicKey]);
                TlsExtensionsUtilities.AddServerCertificateTypeExtensionClient(extensions, [CertificateType.RawPublicKey]);
            }
            return extensions;
        }

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            NegotiatedCipherSuite = m_context.SecurityParameters.CipherSuite;
            Session = m_context.Session;
            Resumed = m_context.SecurityParameters.IsResumedSession;
            ServerConnectionId = m_context.SecurityParameters.ConnectionIDLocal is { Length: > 0 } cid ? cid : null;
        }

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        private sealed class Authentication(TestCertificateClient client) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
            {
                var certificate = serverCertificate.Certificate;
                client.ServerCertificate = (certificate.CertificateType, certificate.GetCertificateAt(0).GetEncoded());
            }

            public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest)
            {
                var context = client.m_context;
                var bc = (BcTlsCrypto)client.Crypto;
                var certificate = client.OwnCertificate(bc);
                var key = PrivateKeyFactory.CreateKey(client.DevicePrivateKey());
                return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), bc, key, certificate,
                    SignatureAndHashAlgorithm.GetInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
            }
        }

        private byte[] DevicePrivateKey() => device.Key.ExportPkcs8PrivateKey();

        private Certificate OwnCertificate(BcTlsCrypto bc) => rawPublicKey
            ? new Certificate(CertificateType.RawPublicKey, null, [new CertificateEntry(new BcTlsRawKeyCertificate(bc, device.SubjectPublicKeyInfo), null)])
            : new Certificate([new BcTlsCertificate(bc, device.Der), .. chain.Select(c => (TlsCertificate)new BcTlsCertificate(bc, c.Der))]);
    }

    /// <summary>A connected UDP socket as BouncyCastle's DatagramTransport (wait 0 = forever, -1 = timed out).</summary>
    private sealed class ClientUdpTransport(Socket socket) : DatagramTransport
    {
        private volatile Socket _socket = socket;

        public Socket Socket => _socket;

        public byte[]? LastSent { get; private set; }

        /// <summary>Every datagram BouncyCastle sent (held ones too), oldest first.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<byte[]> Sent { get; } = new();

        public bool HoldNext { get; set; }

        /// <summary>Sends and receives go through <paramref name="next"/> from now on; returns the previous socket.</summary>
        public Socket Replace(Socket next)
        {
            var previous = _socket;
            _socket = next;
            return previous;
        }

        public int GetReceiveLimit() => 1500;

        public int GetSendLimit() => 1500;

        public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

        public int Receive(Span<byte> buffer, int waitMillis)
        {
            try
            {
                var current = _socket;
                if (!current.Poll(waitMillis == 0 ? -1 : waitMillis * 1000, SelectMode.SelectRead))
                {
                    return -1;
                }
                return current.Receive(buffer);
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
                LastSent = buffer.ToArray();
                Sent.Enqueue(LastSent);
                if (HoldNext)
                {
                    HoldNext = false;
                    return;
                }
                _socket.Send(buffer);
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
