using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport.Dtls;
using NHub.Testing;
using Xunit.Abstractions;

namespace NHub.Interop.Tests.Dtls;

/// <summary>
/// Real CoAP clients over DTLS 1.2 PSK against <see cref="DtlsTransport"/> and the echo receiver: libcoap 4.3.1
/// (OpenSSL and GnuTLS builds) and node-coap-client 2.1.0. coap-client exits 0 even when the handshake fails, so
/// every check reads the output.
/// </summary>
public sealed class DtlsInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string> ClientsAndSuites()
    {
        var data = new TheoryData<string, string>();
        foreach (var client in new[] { "coap-client-openssl", "coap-client-gnutls" })
        {
            foreach (var suite in DtlsCipherSuites.PskSuites)
            {
                data.Add(client, suite);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ClientsAndSuites))]
    public async Task Libcoap_gets_an_answer_over_each_suite(string client, string suite)
    {
        // The server offers this suite only, so a success proves the client negotiated it.
        await using var server = new DtlsServerHarness(o => o.CipherSuites = [suite]);

        var (_, text) = await RunCoapClientAsync(client, server, DtlsServerHarness.Key, breakAfterSeconds: 20);

        Assert.Contains("ok:hello", text, StringComparison.Ordinal);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
        var peer = Assert.Single(server.Receiver.SeenPeers);
        Assert.Equal(DtlsServerHarness.Identity, peer.Identity);
    }

    [Theory]
    [InlineData("coap-client-openssl")]
    [InlineData("coap-client-gnutls")]
    public async Task Libcoap_with_a_wrong_key_gets_bad_record_mac_and_the_handshake_thread_is_freed(string client)
    {
        // A 5 min handshake timeout: the failure must come from the rejected Finished, not from the timeout.
        await using var server = new DtlsServerHarness(o =>
        {
            o.HandshakeThreads = 1;
            o.HandshakeTimeout = TimeSpan.FromMinutes(5);
        });

        var (_, text) = await RunCoapClientAsync(client, server, "wrong-key-wrong-key", breakAfterSeconds: 5);

        Assert.DoesNotContain("ok:", text, StringComparison.Ordinal);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes", "result", "wrong_key") >= 1, TimeSpan.FromSeconds(10), "the wrong_key failure");
        Assert.Equal(0, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
        Assert.Equal(0, server.Transport.PeerCount);
        // libcoap logs the alert it read (OpenSSL: "bad record mac"; GnuTLS: "Bad record MAC" or its alert number 20).
        Assert.Matches("(?i)bad.record.mac|alert.*20", text);
    }

    [Fact]
    public async Task Node_coap_client_gets_an_answer()
    {
        await using var server = new DtlsServerHarness();
        var script = Path.Combine(AppContext.BaseDirectory, "Dtls", "node-coap-dtls-psk.js");
        var environment = new Dictionary<string, string?> { ["NODE_PATH"] = Path.Combine(RepoPaths.Root, ".tools", "node", "node_modules") };

        var (exit, text) = await ExternalProcess.RunAsync(RepoPaths.Tool("node"),
            [script, server.EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), DtlsServerHarness.Identity, DtlsServerHarness.Key, "node"],
            ToolTimeout, environment);
        output.WriteLine(text);

        Assert.Equal(0, exit);
        Assert.Contains("RESPONSE 2.05 ok:node", text, StringComparison.Ordinal);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
    }

    [Fact]
    public async Task Node_coap_client_with_an_unknown_identity_gets_no_answer()
    {
        await using var server = new DtlsServerHarness();
        var script = Path.Combine(AppContext.BaseDirectory, "Dtls", "node-coap-dtls-psk.js");
        var environment = new Dictionary<string, string?> { ["NODE_PATH"] = Path.Combine(RepoPaths.Root, ".tools", "node", "node_modules") };

        var (exit, text) = await ExternalProcess.RunAsync(RepoPaths.Tool("node"),
            [script, server.EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "nobody", DtlsServerHarness.Key, "node"],
            ToolTimeout, environment);
        output.WriteLine(text);

        Assert.NotEqual(0, exit);
        Assert.DoesNotContain("RESPONSE", text, StringComparison.Ordinal);
        Assert.Contains("unknown_psk_identity", text, StringComparison.Ordinal);
        // node-dtls-client retries the handshake a few times; every attempt is refused.
        Assert.True(server.Meters.Total("nhub.dtls.handshakes", "result", "unknown_identity") >= 1);
        Assert.Equal(0, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
    }

    private async Task<(int ExitCode, string Output)> RunCoapClientAsync(string client, DtlsServerHarness server, string key, int breakAfterSeconds)
    {
        var uri = $"coaps://127.0.0.1:{server.EndPoint.Port}/test";
        var result = await ExternalProcess.RunAsync(RepoPaths.Tool(client),
            ["-m", "post", "-e", "hello", "-B", breakAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-u", DtlsServerHarness.Identity, "-k", key, uri],
            ToolTimeout);
        output.WriteLine($"{client} exit {result.ExitCode}:\n{result.Output}\ncounters: {server.Meters.Dump()}");
        return result;
    }
}
