using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Xunit.Abstractions;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The DTLS transport on loopback against BouncyCastle's own DTLS client.</summary>
public sealed class DtlsTransportTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    public static TheoryData<string> Suites => [DtlsCipherSuites.Ccm8, DtlsCipherSuites.Gcm, DtlsCipherSuites.Cbc];

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task A_client_offering_one_suite_gets_a_session_and_an_answer(string suite)
    {
        await using var server = new DtlsServerHarness();
        Assert.True(DtlsCipherSuites.TryParse(suite, out var id));

        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, [id]);
        var answer = client.Exchange(EchoCoapReceiver.Request(0x1234, "hello"u8));

        Assert.Equal(id, client.Peer.NegotiatedCipherSuite);
        Assert.NotNull(answer);
        Assert.Equal(0x62, answer[0]);                  // ACK, TKL 2
        Assert.Equal(0x45, answer[1]);                  // 2.05
        Assert.Equal([0x12, 0x34], answer[2..4]);       // same Message ID
        Assert.EndsWith("ok:hello", Encoding.ASCII.GetString(answer), StringComparison.Ordinal);
        var peer = Assert.Single(server.Receiver.Peers);
        Assert.Equal(DtlsServerHarness.Identity, peer.Identity);
        Assert.Equal(TransportKind.Dtls, peer.Kind);
        Assert.Equal(client.LocalEndPoint, peer.EndPoint);
        Assert.Equal(1, server.Transport.SessionCount);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
        Assert.Equal(1, server.Meters.Total("nhub.dtls.sessions"));
    }

    [Fact]
    public async Task A_dual_mode_socket_serves_IPv4_and_IPv6_clients()
    {
        await using var server = new DtlsServerHarness(o => o.BindAddress = "::");
        var port = server.EndPoint.Port;

        using var v4 = BcDtlsClient.Connect(new IPEndPoint(IPAddress.Loopback, port), DtlsServerHarness.Identity, DtlsServerHarness.Key);
        using var v6 = BcDtlsClient.Connect(new IPEndPoint(IPAddress.IPv6Loopback, port), DtlsServerHarness.Identity, DtlsServerHarness.Key, bind: new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.NotNull(v4.Exchange(EchoCoapReceiver.Request(1)));
        Assert.NotNull(v6.Exchange(EchoCoapReceiver.Request(2)));

        Assert.Contains(server.Receiver.Peers, p => p.EndPoint.Equals(v4.LocalEndPoint)); // reported as IPv4, not ::ffff:127.0.0.1
        Assert.Contains(server.Receiver.Peers, p => p.EndPoint.Equals(v6.LocalEndPoint));
    }

    [Fact]
    public void Options_validate_cipher_suite_names_and_default_to_ccm_8_first()
    {
        Assert.Equal(DtlsCipherSuites.Ccm8, new DtlsOptions().EffectiveCipherSuites[0]);
        var bad = new DtlsOptions { CipherSuites = ["TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"] };

        var errors = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(bad, new(bad), errors, validateAllProperties: true));
        Assert.Contains(errors, e => e.MemberNames.Contains(nameof(DtlsOptions.CipherSuites)));
    }

    [Fact]
    public async Task The_server_order_wins_ccm_8_first()
    {
        await using var server = new DtlsServerHarness();

        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key,
            [CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256, CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_PSK_WITH_AES_128_CCM_8]);

        Assert.Equal(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, client.Peer.NegotiatedCipherSuite);
    }

    [Fact]
    public async Task A_server_limited_to_one_suite_refuses_a_client_without_it()
    {
        await using var server = new DtlsServerHarness(o => o.CipherSuites = [DtlsCipherSuites.Gcm]);

        var error = Assert.ThrowsAny<Exception>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8]));

        Assert.IsType<TlsFatalAlertReceived>(error);
        Assert.Equal(AlertDescription.handshake_failure, ((TlsFatalAlertReceived)error).AlertDescription);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes") >= 1, Wait, "the failed handshake");
        Assert.Equal(0, server.Transport.PeerCount);
    }

    [Fact]
    public async Task A_wrong_key_gets_no_session_and_the_peer_state_is_released()
    {
        await using var server = new DtlsServerHarness(o => o.HandshakeTimeout = TimeSpan.FromSeconds(2));

        Assert.ThrowsAny<Exception>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, "not-the-key", handshakeTimeoutMillis: 3000));
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes") >= 1, Wait, "the failed handshake");

        output.WriteLine(server.Meters.Dump());
        Assert.Equal(0, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
        Assert.Equal(0, server.Transport.SessionCount);
        Assert.Equal(0, server.Transport.PeerCount);
        Assert.Empty(server.Receiver.Peers);
    }

    [Fact]
    public async Task An_unknown_identity_gets_unknown_psk_identity()
    {
        await using var server = new DtlsServerHarness();

        var error = Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.Connect(server.EndPoint, "nobody", DtlsServerHarness.Key));

        Assert.Equal(AlertDescription.unknown_psk_identity, error.AlertDescription);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes", "result", "unknown_identity") == 1, Wait, "unknown_identity");
        Assert.Equal(0, server.Transport.PeerCount);
        var logged = Assert.Single(server.Log.Entries, e => e.EventId.Id == 1102);
        Assert.Contains("unknown_identity", logged.Message, StringComparison.Ordinal);
        Assert.Contains("nobody", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_identity_gets_unknown_psk_identity()
    {
        await using var server = new DtlsServerHarness();
        server.Source.Add("revoked-device", "k", Gateway.Security.PskCredentialStatus.Revoked);

        var error = Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.Connect(server.EndPoint, "revoked-device", "k"));

        Assert.Equal(AlertDescription.unknown_psk_identity, error.AlertDescription);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes", "result", "revoked") == 1, Wait, "revoked");
    }

    [Fact]
    public async Task ClientHellos_without_a_valid_cookie_create_no_peer_state()
    {
        await using var server = new DtlsServerHarness();
        var clientHello = CaptureClientHello();
        var withForgedCookie = ForgeCookie(clientHello);
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
    public async Task Junk_forged_records_and_data_without_a_session_are_dropped_and_the_session_survives()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));

        // From the session's own address: garbage, a forged epoch-1 record (bad MAC), a wrong epoch, a truncated header.
        client.Socket.Send(RandomBytes(100));
        client.Socket.Send(Record(23, epoch: 1, sequence: 50, RandomBytes(40)));
        client.Socket.Send(Record(23, epoch: 7, sequence: 51, RandomBytes(40)));
        client.Socket.Send(new byte[] { 23, 0xFE, 0xFD, 0 });
        // From elsewhere: application data with no session.
        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            stranger.SendTo(Record(23, epoch: 1, sequence: 1, RandomBytes(40)), server.EndPoint);
        }
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "no_session") == 1, Wait, "the stranger's record");

        var answer = client.Exchange(EchoCoapReceiver.Request(2, "still here"u8));
        Assert.EndsWith("ok:still here", Encoding.ASCII.GetString(answer!), StringComparison.Ordinal);
        Assert.Equal(1, server.Transport.SessionCount);
        output.WriteLine(server.Meters.Dump());
        Assert.True(server.Meters.Total("nhub.dtls.records.dropped", "reason", "malformed") >= 2);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.records.dropped", "reason", "epoch"));
    }

    [Fact]
    public async Task Records_without_application_data_neither_stall_the_receive_loop_nor_end_the_session()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        const int Count = 500;

        // Epoch-0 handshake records from the session's address reach BouncyCastle's retransmission handling and
        // yield no data. Without the pump's drain signal each would cost the receive loop up to 1 ms of spinning.
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < Count; i++)
        {
            client.Socket.Send(Record(22, epoch: 0, sequence: 1000 + i, [20, 0, 0, 12, 0, 9, 0, 0, 0, 0, 0, 12, .. RandomBytes(12)]));
        }
        var answer = client.Exchange(EchoCoapReceiver.Request(2, "after"u8));
        output.WriteLine($"{Count} no-data records then a round trip: {watch.Elapsed.TotalMilliseconds:F1} ms");

        Assert.EndsWith("ok:after", Encoding.ASCII.GetString(answer!), StringComparison.Ordinal);
        Assert.Equal(1, server.Transport.SessionCount);
        // Measured: ~20 ms with the drain signal, ~530 ms without (BouncyCastle spinning out its 1 ms wait).
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(250), $"took {watch.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_replayed_record_is_dropped_before_the_record_layer()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(7, "once"u8)));
        var sniffed = client.LastSent!;
        var before = server.Receiver.Datagrams;

        client.Socket.Send(sniffed); // an attacker replaying captured ciphertext from the device's address
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "replay") == 1, Wait, "the replay drop");

        Assert.Equal(before, server.Receiver.Datagrams);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(8, "fresh"u8)));
    }

    [Fact]
    public async Task A_client_that_restarts_on_the_same_address_replaces_its_session()
    {
        await using var server = new DtlsServerHarness();
        var first = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        var address = first.LocalEndPoint;
        Assert.NotNull(first.Exchange(EchoCoapReceiver.Request(1)));
        var oldPeer = Assert.Single(server.Receiver.Peers);
        first.Dispose(); // power loss: no close_notify

        using var second = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, bind: address);
        Assert.NotNull(second.Exchange(EchoCoapReceiver.Request(2)));

        var closed = await server.Receiver.Closed(oldPeer).WaitAsync(Wait);
        Assert.Equal(oldPeer.SessionId, closed.SessionId);
        var newPeer = Assert.Single(server.Receiver.Peers);
        Assert.NotEqual(oldPeer.SessionId, newPeer.SessionId);
        Assert.Equal(address, newPeer.EndPoint);
        Assert.Equal(1, server.Transport.PeerCount);
        Assert.Equal(1, server.Transport.SessionCount);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.sessions"));
    }

    [Fact]
    public async Task CloseSessions_closes_the_identitys_session_at_once_and_the_next_handshake_sees_the_revocation()
    {
        await using var server = new DtlsServerHarness();
        server.Source.Add("other-device", "other-key");
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        using var other = BcDtlsClient.Connect(server.EndPoint, "other-device", "other-key");
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = server.Receiver.Peers.Single(p => p.Identity == DtlsServerHarness.Identity);

        server.Source.Revoke(DtlsServerHarness.Identity);
        var closed = server.Transport.CloseSessions(DtlsServerHarness.Identity);

        Assert.Equal(1, closed);
        Assert.True(server.Receiver.Closed(peer).IsCompletedSuccessfully, "OnPeerClosed is called within CloseSessions");
        var receiving = Task.Run(() => client.ReceiveOne(1000));
        Assert.Equal(AlertDescription.close_notify, await client.Peer.AlertReceived.Task.WaitAsync(Wait));
        await receiving;
        Assert.Equal(1, server.Transport.SessionCount);
        Assert.NotNull(other.Exchange(EchoCoapReceiver.Request(2)));

        var error = Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key));
        Assert.Equal(AlertDescription.unknown_psk_identity, error.AlertDescription);
    }

    [Fact]
    public async Task A_client_close_notify_ends_the_session()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);

        client.Session.Close();

        await server.Receiver.Closed(peer).WaitAsync(Wait);
        Assert.Equal(0, server.Transport.PeerCount);
        Assert.Equal(0, server.Meters.Total("nhub.dtls.sessions"));
    }

    [Fact]
    public async Task An_idle_session_is_evicted_after_the_idle_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = new DtlsServerHarness(o => o.SweepInterval = TimeSpan.FromMinutes(1), time);
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);

        time.Advance(TimeSpan.FromHours(5));
        Assert.False(server.Receiver.Closed(peer).IsCompleted, "5 h of sleep keeps the session (default idle timeout 6 h)");
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(2)));

        time.Advance(TimeSpan.FromHours(6) + TimeSpan.FromMinutes(2));
        await server.Receiver.Closed(peer).WaitAsync(Wait);
        Assert.Equal(0, server.Transport.PeerCount);
    }

    [Fact]
    public async Task Handshakes_beyond_the_per_ip_rate_are_refused_after_the_cookie()
    {
        await using var server = new DtlsServerHarness(o =>
        {
            o.HandshakeBurstPerIp = 2;
            o.HandshakesPerSecondPerIp = 0.01;
        });
        using var a = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        using var b = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);

        Assert.ThrowsAny<Exception>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, handshakeTimeoutMillis: 1500));

        Assert.True(server.Meters.Total("nhub.dtls.handshakes", "result", "rate_limited") >= 1);
        Assert.Equal(2, server.Transport.PeerCount);
    }

    [Fact]
    public async Task Peers_beyond_MaxPeers_are_refused()
    {
        await using var server = new DtlsServerHarness(o => o.MaxPeers = 1);
        using var a = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);

        Assert.ThrowsAny<Exception>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, handshakeTimeoutMillis: 1500));

        Assert.True(server.Meters.Total("nhub.dtls.handshakes", "result", "max_peers") >= 1);
    }

    [Fact]
    public async Task Stop_sends_close_notify_to_every_session()
    {
        var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);

        await server.DisposeAsync();

        var receiving = Task.Run(() => client.ReceiveOne(1000));
        Assert.Equal(AlertDescription.close_notify, await client.Peer.AlertReceived.Task.WaitAsync(Wait));
        await receiving;
        Assert.True(server.Receiver.Closed(peer).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Threads_stay_flat_with_500_sessions()
    {
        const int Sessions = 500;
        await using var server = new DtlsServerHarness(o =>
        {
            o.HandshakesPerSecondPerIp = 1_000_000;
            o.HandshakeBurstPerIp = 1_000_000;
        });
        var clients = new List<BcDtlsClient>(Sessions);
        try
        {
            clients.Add(BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key));
            Assert.NotNull(clients[0].Exchange(EchoCoapReceiver.Request(0)));
            using var process = Process.GetCurrentProcess();
            process.Refresh();
            var threadsBefore = process.Threads.Count;
            var rssBefore = process.WorkingSet64;

            var watch = Stopwatch.StartNew();
            for (var i = 1; i < Sessions; i++)
            {
                clients.Add(BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key));
            }
            var handshakeTime = watch.Elapsed;
            watch.Restart();
            for (var i = 0; i < Sessions; i++)
            {
                Assert.NotNull(clients[i].Exchange(EchoCoapReceiver.Request((ushort)i)));
            }
            var exchangeTime = watch.Elapsed;

            process.Refresh();
            var threadsAfter = process.Threads.Count;
            output.WriteLine($"{Sessions} sessions: handshakes {handshakeTime.TotalMilliseconds:F0} ms ({(Sessions - 1) / handshakeTime.TotalSeconds:F0}/s, client in-process), " +
                $"{Sessions} round trips {exchangeTime.TotalMilliseconds:F0} ms; threads {threadsBefore} -> {threadsAfter}; " +
                $"RSS {rssBefore / 1048576} -> {process.WorkingSet64 / 1048576} MiB");
            Assert.Equal(Sessions, server.Transport.SessionCount);
            // A thread per session would add ~500; what remains is thread-pool and test-host noise.
            Assert.InRange(threadsAfter - threadsBefore, -50, 50);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>The first datagram a BouncyCastle client sends: a ClientHello without a cookie.</summary>
    private static byte[] CaptureClientHello()
    {
        var capture = new CaptureTransport();
        var client = new BcDtlsClient.TestPskClient(new BcTlsCrypto(new SecureRandom()), "x", [1], [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8], 1000);
        Assert.ThrowsAny<Exception>(() => new DtlsClientProtocol().Connect(client, capture));
        return capture.First!;
    }

    /// <summary>The same ClientHello with a 32-byte cookie that the server never issued.</summary>
    private static byte[] ForgeCookie(byte[] clientHello)
    {
        // record(13) + handshake header(12) + version(2) + random(32) + session_id(1 + n) + cookie(1 + n)
        var sessionIdAt = 13 + 12 + 2 + 32;
        var cookieAt = sessionIdAt + 1 + clientHello[sessionIdAt];
        Assert.Equal(0, clientHello[cookieAt]);
        var cookie = RandomBytes(32);
        var forged = new byte[clientHello.Length + 32];
        clientHello.AsSpan(0, cookieAt).CopyTo(forged);
        forged[cookieAt] = 32;
        cookie.CopyTo(forged, cookieAt + 1);
        clientHello.AsSpan(cookieAt + 1).CopyTo(forged.AsSpan(cookieAt + 33));
        // record length, handshake length and fragment length grow by 32
        var bodyLength = (clientHello[14] << 16 | clientHello[15] << 8 | clientHello[16]) + 32;
        WriteUInt24(forged, 14, bodyLength);
        WriteUInt24(forged, 22, bodyLength);
        WriteUInt16(forged, 11, (clientHello[11] << 8 | clientHello[12]) + 32);
        return forged;
    }

    private static byte[] Record(byte type, ushort epoch, long sequence, byte[] fragment)
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

    private static byte[] RandomBytes(int n)
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
