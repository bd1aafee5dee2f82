using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The stateless cookie exchange (RFC 6347 §4.2.1): no peer state before a valid cookie, and the rotating cookie secret.</summary>
public sealed class DtlsCookieTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ClientHellos_without_a_valid_cookie_create_no_peer_state()
    {
        await using var server = new DtlsServerHarness();
        var clientHello = DtlsWire.CaptureClientHello();
        var withForgedCookie = DtlsWire.ForgeCookie(clientHello);
        const int Count = 2000;

        var buffer = new byte[1500];
        for (var i = 0; i < Count; i++)
        {
            // A new socket (a new source port) for each: 2000 distinct "clients" that never answer the cookie.
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.SendTo(i % 2 == 0 ? clientHello : withForgedCookie, server.EndPoint);
            Assert.True(socket.Poll(5_000_000, SelectMode.SelectRead), $"no HelloVerifyRequest for ClientHello {i}");
            var n = socket.Receive(buffer);
            Assert.True(n > 13 && buffer[0] == 22 && buffer[13] == 3, "expected a HelloVerifyRequest (handshake type 3)");
        }

        // The counter moves just after the HelloVerifyRequest left, so wait for the last one.
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.hello_verify.sent") == Count, Wait, "every HelloVerifyRequest counted");
        Assert.Equal(0, server.Transport.PeerCount);
        Assert.Equal(0, server.Meters.Total("nhub.dtls.handshakes"));

        using var real = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(real.Exchange(EchoCoapReceiver.Request(1)));
    }

    [Fact]
    public async Task The_cookie_secret_rotates_each_period_and_a_cookie_of_the_previous_period_still_opens_a_handshake()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = new DtlsServerHarness(o => o.CookieSecretRotation = TimeSpan.FromMinutes(5), time);
        using var socket = LoopbackSocket();
        var hello = DtlsWire.CaptureClientHello();

        var cookie = RequestCookie(socket, server, hello);
        Assert.Equal(cookie, RequestCookie(socket, server, hello)); // same secret and ClientHello: same cookie
        time.Advance(TimeSpan.FromMinutes(5));
        var rotated = RequestCookie(socket, server, hello);

        Assert.NotEqual(cookie, rotated);
        Assert.Equal(1, server.Transport.CookieSecretRotations);
        // The previous period's cookie is still good: the answer is the ServerHello (2), not a HelloVerifyRequest (3).
        Assert.Equal(2, DtlsWire.HandshakeType(SendAndReceive(socket, server, DtlsWire.WithCookie(hello, cookie))));
        Assert.Equal(1, server.Meters.Total("nhub.dtls.cookies.previous_secret"));
        Assert.Equal(1, server.Transport.PeerCount);
    }

    [Fact]
    public async Task A_cookie_two_periods_old_gets_a_fresh_HelloVerifyRequest_and_no_peer_state()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = new DtlsServerHarness(o => o.CookieSecretRotation = TimeSpan.FromMinutes(5), time);
        using var socket = LoopbackSocket();
        var hello = DtlsWire.CaptureClientHello();
        var cookie = RequestCookie(socket, server, hello);

        time.Advance(TimeSpan.FromMinutes(10));
        var answer = SendAndReceive(socket, server, DtlsWire.WithCookie(hello, cookie));

        Assert.True(DtlsWire.TryReadHelloVerifyRequest(answer, out var fresh), "expected a HelloVerifyRequest");
        Assert.NotEqual(cookie, fresh);
        Assert.Equal(0, server.Transport.PeerCount);
        Assert.Equal(0, server.Meters.Total("nhub.dtls.cookies.previous_secret"));
        // And the fresh cookie works.
        Assert.Equal(2, DtlsWire.HandshakeType(SendAndReceive(socket, server, DtlsWire.WithCookie(hello, fresh))));
    }

    [Fact]
    public async Task A_real_client_handshakes_across_rotations()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = new DtlsServerHarness(o => o.CookieSecretRotation = TimeSpan.FromMinutes(5), time);

        for (var i = 0; i < 3; i++)
        {
            using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
            Assert.NotNull(client.Exchange(EchoCoapReceiver.Request((ushort)i)));
            time.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.Equal(3, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
        Assert.Equal(2, server.Transport.CookieSecretRotations);
    }

    private static Socket LoopbackSocket()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static byte[] RequestCookie(Socket socket, DtlsServerHarness server, byte[] clientHello)
    {
        var answer = SendAndReceive(socket, server, clientHello);
        Assert.True(DtlsWire.TryReadHelloVerifyRequest(answer, out var cookie), "expected a HelloVerifyRequest");
        Assert.NotEmpty(cookie);
        return cookie;
    }

    private static byte[] SendAndReceive(Socket socket, DtlsServerHarness server, byte[] datagram)
    {
        socket.SendTo(datagram, server.EndPoint);
        Assert.True(socket.Poll(5_000_000, SelectMode.SelectRead), "no answer");
        var buffer = new byte[1500];
        return buffer[..socket.Receive(buffer)];
    }
}
