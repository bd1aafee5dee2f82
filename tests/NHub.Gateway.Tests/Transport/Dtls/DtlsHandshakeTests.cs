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

/// <summary>The DTLS handshake on loopback against BouncyCastle's own client: suites, address families, authentication failures.</summary>
public sealed class DtlsHandshakeTests
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
    public async Task Each_server_flight_leaves_in_one_datagram()
    {
        await using var server = new DtlsServerHarness();

        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        await server.Meters.WaitForAsync(m => m.Total("nhub.transport.datagrams.sent") >= 2, Wait, "the server's flights");

        // ServerHello + ServerHelloDone, then ChangeCipherSpec + Finished (RFC 6347 §4.1.1 lets records share a
        // datagram); BouncyCastle alone writes one datagram per record, 4 here. The HelloVerifyRequest is counted
        // apart. 3 allows one retransmission of the first flight (1 s timer) on a slow machine.
        Assert.InRange(server.Meters.Total("nhub.transport.datagrams.sent"), 2, 3);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.hello_verify.sent"));
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
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
    public async Task A_wrong_key_gets_bad_record_mac_and_frees_the_handshake_thread_long_before_the_timeout()
    {
        // One handshake thread and a 5 min timeout: the waits below (10 s) pass only if the failed Finished frees it.
        await using var server = new DtlsServerHarness(o =>
        {
            o.HandshakeThreads = 1;
            o.HandshakeTimeout = TimeSpan.FromMinutes(5);
        });

        var error = Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, "not-the-key", handshakeTimeoutMillis: 20_000));

        Assert.Equal(AlertDescription.bad_record_mac, error.AlertDescription);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes", "result", "wrong_key") == 1, Wait, "the wrong_key failure");
        Assert.Equal(0, server.Transport.PeerCount);
        Assert.Equal(0, server.Transport.SessionCount);
        Assert.Empty(server.Receiver.Peers);
        var logged = Assert.Single(server.Log.Entries, e => e.EventId.Id == 1102);
        Assert.Contains("wrong_key", logged.Message, StringComparison.Ordinal);
        Assert.Contains(DtlsServerHarness.Identity, logged.Message, StringComparison.Ordinal);
        Assert.Contains("bad_record_mac", logged.Message, StringComparison.Ordinal);
        // The only handshake thread is free again.
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        Assert.Equal(1, server.Meters.Total("nhub.dtls.handshakes", "result", "wrong_key"));
    }

    [Fact]
    public async Task A_credential_reissued_under_the_same_identity_is_used_after_one_failed_handshake_not_after_the_cache_time()
    {
        // A one-hour cache: without the invalidation on a rejected Finished, the new key would fail for an hour.
        await using var server = new DtlsServerHarness(cacheOptions: new NHub.Gateway.Security.CredentialCacheOptions { TimeToLive = TimeSpan.FromHours(1) });
        using (var first = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key))
        {
            Assert.NotNull(first.Exchange(EchoCoapReceiver.Request(1))); // the old key is cached now
        }
        server.Source.Add(DtlsServerHarness.Identity, "the-reissued-key-0123456789"); // no revocation pushed (yet)

        Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, "the-reissued-key-0123456789"));
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes", "result", "wrong_key") == 1, Wait, "the wrong_key failure");

        using var again = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, "the-reissued-key-0123456789");
        Assert.NotNull(again.Exchange(EchoCoapReceiver.Request(2)));
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
}
