using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NHub.Coap;
using NHub.Gateway.Security;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;
using NHub.Gateway.Transport.Tcp;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.Gateway.Tests.Transport.Tcp;

/// <summary>
/// CoAP over TCP and TLS (RFC 8323) on loopback: the stream transport with the echo receiver standing in for the CoAP
/// stack, driven by raw sockets and BouncyCastle's TLS client.
/// </summary>
public sealed class StreamTransportTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_tcp_request_after_the_csm_is_answered_as_a_frame_and_the_peer_is_unauthenticated()
    {
        await using var server = new Harness(TransportKind.Tcp);
        using var client = await server.ConnectAsync();
        var stream = new NetworkStream(client);
        Assert.Equal(CoapSignalCode.Csm, (await ReadSignalAsync(stream)).Code);
        await WriteAsync(stream, CoapSignaling.Csm(1152, false));
        await WriteAsync(stream, EchoCoapReceiver.Request(0x0101, "hello"u8));

        var response = await ReadMessageAsync(stream);
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.EndsWith("ok:hello", Encoding.ASCII.GetString(response.Payload.Span), StringComparison.Ordinal);
        var peer = Assert.Single(server.Receiver.Peers);
        Assert.Equal(TransportKind.Tcp, peer.Kind);
        Assert.Null(peer.Identity);
        Assert.StartsWith("tcp:", peer.SessionKey, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_before_the_csm_is_aborted_and_the_connection_closed()
    {
        await using var server = new Harness(TransportKind.Tcp);
        using var client = await server.ConnectAsync();
        var stream = new NetworkStream(client);
        await ReadSignalAsync(stream);
        await WriteAsync(stream, EchoCoapReceiver.Request(1, "x"u8));
        var abort = await ReadSignalAsync(stream);
        Assert.Equal(CoapSignalCode.Abort, abort.Code);
        Assert.Equal(0, await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Wait)); // closed
        Assert.Equal(0, server.Receiver.Datagrams);
        await server.WaitForClosedAsync("no_csm");
    }

    [Fact]
    public async Task A_connection_that_never_sends_its_csm_is_aborted_after_the_handshake_timeout()
    {
        var time = new FakeTimeProvider();
        await using var server = new Harness(TransportKind.Tcp, time: time);
        using var client = await server.ConnectAsync();
        var stream = new NetworkStream(client);
        await ReadSignalAsync(stream);
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(CoapSignalCode.Abort, (await ReadSignalAsync(stream)).Code);
        await server.WaitForClosedAsync("handshake_timeout");
    }

    [Fact]
    public async Task A_tls_connection_that_never_handshakes_is_closed_after_the_handshake_timeout()
    {
        var time = new FakeTimeProvider();
        await using var server = new Harness(TransportKind.Tls, time: time);
        using var client = await server.ConnectAsync();
        time.Advance(TimeSpan.FromSeconds(31));
        // No record layer yet, so no Abort frame: the connection just closes.
        Assert.Equal(0, await new NetworkStream(client).ReadAsync(new byte[16]).AsTask().WaitAsync(Wait));
        await server.WaitForClosedAsync("handshake_timeout");
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_closed_at_once()
    {
        await using var server = new Harness(TransportKind.Tcp, o => o.MaxConnections = 1);
        using var first = await server.ConnectAsync();
        await ReadSignalAsync(new NetworkStream(first));
        using var second = await server.ConnectAsync();
        Assert.Equal(0, await new NetworkStream(second).ReadAsync(new byte[16]).AsTask().WaitAsync(Wait));
        Assert.Equal(1, server.Meters.Total("nhub.tcp.connections.closed", "reason", "capacity"));
    }

    [Fact]
    public async Task Tls_connections_beyond_the_per_address_handshake_rate_are_closed_before_any_cryptography()
    {
        var time = new FakeTimeProvider();
        await using var server = new Harness(TransportKind.Tls, time: time, dtls: o =>
        {
            o.HandshakesPerSecondPerIp = 0.01;
            o.HandshakeBurstPerIp = 1;
        });
        // An authenticated handshake gives its token back (docs/handshake-limits.md): the next device behind the
        // same address is served.
        using var first = await server.ConnectAsync();
        TlsClient.Connect(first, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        await server.Meters.WaitForAsync(m => m.Total("nhub.tls.handshakes", "result", "success") == 1, Wait, "the first handshake counted");
        using var second = await server.ConnectAsync();
        Assert.ThrowsAny<TlsException>(() => TlsClient.Connect(second, DtlsServerHarness.Identity, "not-the-key"));
        await server.WaitForClosedAsync("tls_failed");

        // The failed one kept its token: the address is out of budget.
        using var third = await server.ConnectAsync();
        Assert.Equal(0, await new NetworkStream(third).ReadAsync(new byte[16]).AsTask().WaitAsync(Wait));
        Assert.Equal(1, server.Meters.Total("nhub.tcp.connections.closed", "reason", "rate_limited"));
        Assert.Equal(1, server.Meters.Total("nhub.tls.handshakes", "result", "success"));
    }

    [Fact]
    public async Task A_tls_psk_client_offering_alpn_gets_coap_and_its_identity_is_the_peer()
    {
        await using var server = new Harness(TransportKind.Tls);
        using var socket = await server.ConnectAsync();
        var (tls, peer) = TlsClient.Connect(socket, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.Equal("coap", peer.SelectedProtocol);
        Assert.Equal(CoapSignalCode.Csm, (await ReadSignalAsync(tls.Stream)).Code);
        await WriteAsync(tls.Stream, CoapSignaling.Csm(1152, false));
        await WriteAsync(tls.Stream, EchoCoapReceiver.Request(7, "secure"u8));
        var response = await ReadMessageAsync(tls.Stream);
        Assert.EndsWith("ok:secure", Encoding.ASCII.GetString(response.Payload.Span), StringComparison.Ordinal);

        var seen = Assert.Single(server.Receiver.Peers);
        Assert.Equal(TransportKind.Tls, seen.Kind);
        Assert.Equal(DtlsServerHarness.Identity, seen.Identity);
        Assert.Equal(1, server.Meters.Total("nhub.tls.handshakes", "result", "success"));
    }

    [Fact]
    public async Task A_wrong_psk_fails_the_tls_handshake_and_no_peer_exists()
    {
        await using var server = new Harness(TransportKind.Tls);
        using var socket = await server.ConnectAsync();
        Assert.ThrowsAny<TlsException>(() => TlsClient.Connect(socket, DtlsServerHarness.Identity, "not-the-key"));
        await server.WaitForClosedAsync("tls_failed");
        Assert.Empty(server.Receiver.SeenPeers);
        Assert.Equal(0, server.Meters.Total("nhub.tls.handshakes", "result", "success"));
        Assert.Equal(1, server.Meters.Total("nhub.tls.handshakes"));
    }

    [Fact]
    public async Task An_unknown_identity_gets_unknown_psk_identity()
    {
        await using var server = new Harness(TransportKind.Tls);
        using var socket = await server.ConnectAsync();
        var failure = Assert.ThrowsAny<TlsFatalAlertReceived>(() => TlsClient.Connect(socket, "koru-nobody", "key"));
        Assert.Equal(AlertDescription.unknown_psk_identity, failure.AlertDescription);
        Assert.Contains(server.Log.Entries, e => e.Message.Contains("failed: unknown_identity", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Closing_the_sessions_of_an_identity_aborts_its_tls_connection()
    {
        await using var server = new Harness(TransportKind.Tls);
        using var socket = await server.ConnectAsync();
        var (tls, _) = TlsClient.Connect(socket, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        await ReadSignalAsync(tls.Stream);
        await WriteAsync(tls.Stream, CoapSignaling.Csm(1152, false));
        await WriteAsync(tls.Stream, EchoCoapReceiver.Request(9, "a"u8));
        await ReadMessageAsync(tls.Stream);
        var peer = Assert.Single(server.Receiver.Peers);

        Assert.Equal(1, server.Transport.CloseSessions(DtlsServerHarness.Identity));
        Assert.Equal(CoapSignalCode.Abort, (await ReadSignalAsync(tls.Stream)).Code);
        Assert.Same(peer, await server.Receiver.Closed(peer).WaitAsync(Wait));
        Assert.False(server.Transport.IsOpen(peer));
    }

    private static async Task WriteAsync(Stream stream, byte[] datagram)
    {
        var frame = new byte[CoapFraming.FrameLength(datagram, CoapFramingKind.Tcp)];
        CoapFraming.TryFromDatagram(datagram, CoapFramingKind.Tcp, frame, out _);
        await stream.WriteAsync(frame);
        await stream.FlushAsync();
    }

    private static async Task<byte[]> ReadFrameAsDatagramAsync(Stream stream)
    {
        var buffer = new byte[8192];
        var length = 0;
        while (true)
        {
            if (CoapFraming.TryReadFrame(buffer.AsSpan(0, length), buffer.Length, out var frameLength) == FrameStatus.Complete)
            {
                var frame = buffer.AsSpan(0, frameLength);
                var datagram = new byte[CoapFraming.DatagramLength(frame, CoapFramingKind.Tcp)];
                Assert.True(CoapFraming.TryToDatagram(frame, CoapFramingKind.Tcp, CoapMessageType.NonConfirmable, 0, datagram, out _));
                return datagram;
            }
            // One byte at a time: the next frame's bytes stay in the stream for the next call.
            var read = await stream.ReadAsync(buffer.AsMemory(length, 1)).AsTask().WaitAsync(Wait);
            Assert.True(read > 0, "the connection closed before a whole frame");
            length += read;
        }
    }

    private static async Task<CoapSignal> ReadSignalAsync(Stream stream)
    {
        var datagram = await ReadFrameAsDatagramAsync(stream);
        Assert.Equal(CoapParseError.None, CoapSignaling.TryParse(datagram, out var signal));
        return signal;
    }

    private static async Task<CoapMessage> ReadMessageAsync(Stream stream)
    {
        var message = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(await ReadFrameAsDatagramAsync(stream), message));
        return message;
    }

    private sealed class Harness : IAsyncDisposable
    {
        public Harness(TransportKind kind, Action<TcpTransportOptions>? configure = null, TimeProvider? time = null, Action<DtlsOptions>? dtls = null)
        {
            Source.Add(DtlsServerHarness.Identity, DtlsServerHarness.Key);
            var options = new TcpTransportOptions();
            configure?.Invoke(options);
            var cache = new CredentialCache(Source, new CredentialCacheOptions(), time);
            var dtlsOptions = new DtlsOptions();
            dtls?.Invoke(dtlsOptions);
            Tls = kind == TransportKind.Tls ? new TlsServerFactory(dtlsOptions, cache, certificate: null, certificates: null, time ?? TimeProvider.System) : null;
            Transport = new StreamTransport(kind, new IPEndPoint(IPAddress.Loopback, 0), options, Tls, Log, Meters, time);
            Receiver.Transport = Transport;
            Transport.Start(Receiver);
        }

        public InMemoryPskSource Source { get; } = new();
        public TlsServerFactory? Tls { get; }
        public ListLogger<StreamTransport> Log { get; } = new();
        public TestMeterFactory Meters { get; } = new();
        public EchoCoapReceiver Receiver { get; } = new();
        public StreamTransport Transport { get; }

        public async Task<Socket> ConnectAsync()
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync((IPEndPoint)Transport.LocalEndPoint).WaitAsync(Wait);
            return socket;
        }

        /// <summary>Waits until a connection ended with <paramref name="reason"/> (the transport counts it as it goes).</summary>
        public Task WaitForClosedAsync(string reason) =>
            Meters.WaitForAsync(m => m.Total("nhub.tcp.connections.closed", "reason", reason) > 0, Wait, "a connection closed with " + reason);

        public async ValueTask DisposeAsync()
        {
            await Transport.DisposeAsync();
            Tls?.Dispose();
            Meters.Dispose();
        }
    }

    /// <summary>BouncyCastle's blocking TLS 1.2 PSK client over a connected socket, offering ALPN "coap".</summary>
    private sealed class TlsClient(BcTlsCrypto crypto, string identity, string key)
        : PskTlsClient(crypto, new BasicTlsPskIdentity(identity, Encoding.UTF8.GetBytes(key)))
    {
        public string? SelectedProtocol { get; private set; }

        public static (TlsClientProtocol Protocol, TlsClient Peer) Connect(Socket socket, string identity, string key)
        {
            var peer = new TlsClient(new BcTlsCrypto(), identity, key);
            var protocol = new TlsClientProtocol(new NetworkStream(socket));
            protocol.Connect(peer);
            return (protocol, peer);
        }

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.TLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];

        protected override IList<ProtocolName> GetProtocolNames() => [ProtocolName.AsUtf8Encoding("coap")];

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            SelectedProtocol = m_context.SecurityParameters.ApplicationProtocol?.GetUtf8Decoding();
        }
    }
}
