using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using NHub.Grains;
using NHub.Testing;
using Xunit.Abstractions;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// RFC 9146 Connection IDs with a client nobody here wrote: libcoap 4.3.5's coap-client on Mbed TLS 3.6, built from
/// Debian's source packages by scripts/install-deps.sh (OpenSSL and GnuTLS have no CID). Its <c>-d N</c> negotiates a
/// CID and moves to a new source port every N packets: a NAT rebinding, on demand. Handshakes and moves are counted on
/// the server, from its /metrics.
/// </summary>
public sealed class ConnectionIdInteropTests(ProductionPlatform platform, ITestOutputHelper output) : IClassFixture<ProductionPlatform>
{
    private const string Client = "coap-client"; // .tools/bin: libcoap 4.3.5 on Mbed TLS

    private static Task<LibCoap.Result> RunAsync(IEnumerable<string> args, int timeoutSeconds = 60) => LibCoap.RunAsync(Client, args, timeoutSeconds);

    /// <summary>A binary-format credential's key as 4.3.5's <c>-k</c> takes it: 0x and the hex of the 32 key bytes.</summary>
    private static string HexKey(IssuedCredential credential) => "0x" + credential.PskKey;

    [Fact]
    public async Task Coap_client_4_3_5_on_mbed_tls_negotiates_a_connection_id_and_its_telemetry_is_stored()
    {
        const string id = "cid-post";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        var before = await SettledMetricsAsync();

        var r = await RunAsync(["-B", "10", "-d", "0", "-m", "post", "-t", "application/json", "-e", "{\"t\":1}",
            "-u", credential.Summary.PskIdentity, "-k", HexKey(credential), $"{platform.CoapsBase}/telemetry"]);

        Assert.True(r.LastCode == "2.01", r.Output);
        var after = await WaitForMetricsAsync(m => m.Sum("nhub_dtls_handshakes_total", "result=\"success\"", "connection_id=\"true\"") > before.Sum("nhub_dtls_handshakes_total", "result=\"success\"", "connection_id=\"true\""));
        // Every handshake since the baseline negotiated a CID: none without.
        Assert.Equal(before.Sum("nhub_dtls_handshakes_total", "result=\"success\"", "connection_id=\"false\""), after.Sum("nhub_dtls_handshakes_total", "result=\"success\"", "connection_id=\"false\""));
        Assert.Equal("{\"t\":1}", Encoding.UTF8.GetString(Assert.Single(await platform.ReadTelemetryAsync(id)).Data!));
    }

    [Fact]
    public async Task A_client_changing_its_source_port_mid_session_keeps_its_session_with_no_new_handshake()
    {
        const string id = "cid-rebind";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        var before = await SettledMetricsAsync();

        // Five POSTs a second apart, a new source port after every packet sent.
        // -p: from a block of free ports below the ephemeral range, since -d 1 moves to port + 1 each time.
        var r = await RunAsync(["-B", "20", "-p", FreePorts.NextBlock(16).ToString(CultureInfo.InvariantCulture), "-d", "1", "-G", "5", "-m", "post", "-t", "application/json", "-e", "{\"t\":2}",
            "-u", credential.Summary.PskIdentity, "-k", HexKey(credential), $"{platform.CoapsBase}/telemetry"]);

        Assert.True(r.Codes.Count(c => c == "2.01") == 5, r.Output);
        var after = await WaitForMetricsAsync(m => m.Sum("nhub_dtls_address_changes_total") >= before.Sum("nhub_dtls_address_changes_total") + 4);
        Assert.Equal(1, after.Sum("nhub_dtls_handshakes_total", "result=\"success\"") - before.Sum("nhub_dtls_handshakes_total", "result=\"success\""));
        output.WriteLine($"address changes: {after.Sum("nhub_dtls_address_changes_total") - before.Sum("nhub_dtls_address_changes_total")}");
        Assert.Equal(5, (await platform.ReadTelemetryAsync(id)).Count);
    }

    [Fact]
    public async Task A_command_posted_while_the_device_is_away_is_delivered_within_a_second_of_its_next_uplink_from_a_new_address()
    {
        const string id = "cid-command";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        using var api = platform.Api();
        using var nat = new UdpNat(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, platform.Silo.CoapsPort));

        // The device observes its commands through a NAT. Its only later uplink is its keep-alive (-K 10: an empty CON
        // after 10 s of silence).
        var observing = RunAsync(["-B", "30", "-s", "25", "-d", "0", "-K", "10", "-m", "get",
            "-u", credential.Summary.PskIdentity, "-k", HexKey(credential), $"coaps://127.0.0.1:{nat.EndPoint.Port}/commands/{id}"], timeoutSeconds: 60);
        await platform.Events.WaitForAsync(id, "online", timeout: TimeSpan.FromSeconds(20));
        // It sleeps; the carrier drops its NAT binding: its next packet leaves from another address and port.
        nat.Rebind(System.Net.IPAddress.Parse("127.0.0.2"));
        var posted = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "reboot", new { delay = 1 });

        await platform.Events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(posted), TimeSpan.FromSeconds(30));
        var delivered = Stopwatch.GetTimestamp();
        var r = await observing;

        Assert.Contains("reboot", r.Output, StringComparison.Ordinal);
        // The notification and its retransmissions (2-3 s, then 4-6 s later) went to the dead mapping...
        Assert.True(nat.Lost >= 2, $"only {nat.Lost} datagram(s) reached the old mapping: the device was not away");
        // ...and the keep-alive from the new address brought the notification at once, not at the next timer.
        Assert.NotEqual(0, nat.FirstUplinkAfterRebind);
        var afterUplink = Stopwatch.GetElapsedTime(nat.FirstUplinkAfterRebind, delivered);
        output.WriteLine($"lost at the old mapping: {nat.Lost}; delivered (event seen) {afterUplink.TotalMilliseconds:F0} ms after the first uplink from the new address");
        Assert.True(afterUplink < TimeSpan.FromSeconds(1), $"delivered {afterUplink.TotalSeconds:F1} s after the device's uplink from its new address");
        Assert.True((await MetricsAsync()).Sum("nhub_dtls_address_changes_total") >= 1, "no address change counted");
    }

    [Fact]
    public async Task A_confirmable_retransmitted_from_a_new_source_address_is_answered_from_the_dedup_cache_and_stored_once()
    {
        const string id = "cid-retransmit";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        using var nat = new UdpNat(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, platform.Silo.CoapsPort));
        var before = await SettledMetricsAsync();
        // The gateway's answer to the first protected record after the handshake (the 2.01) is lost, and the NAT
        // rebinds to another loopback address before the client's retransmission (same Message ID) goes out.
        var dropped = 0;
        nat.DropDownlink = d => d[0] is 23 or 25 && Interlocked.Exchange(ref dropped, 1) == 0;
        nat.RebindBeforeUplink = (_, d) => Volatile.Read(ref dropped) == 1 && d[0] is 23 or 25 && nat.OutsideEndPoint.Address.Equals(System.Net.IPAddress.Loopback)
            ? System.Net.IPAddress.Parse("127.0.0.3") : null;

        var r = await RunAsync(["-B", "20", "-d", "0", "-m", "post", "-t", "application/json", "-e", "{\"t\":4}",
            "-u", credential.Summary.PskIdentity, "-k", HexKey(credential), $"coaps://127.0.0.1:{nat.EndPoint.Port}/telemetry"]);

        Assert.True(r.LastCode == "2.01", r.Output);
        Assert.Equal(1, dropped);
        Assert.Equal("127.0.0.3", nat.OutsideEndPoint.Address.ToString());
        Assert.Equal("{\"t\":4}", Encoding.UTF8.GetString(Assert.Single(await platform.ReadTelemetryAsync(id)).Data!));
        var after = await WaitForMetricsAsync(m => m.Sum("nhub_dtls_address_changes_total") > before.Sum("nhub_dtls_address_changes_total"));
        Assert.Equal(1, after.Sum("nhub_dtls_handshakes_total", "result=\"success\"") - before.Sum("nhub_dtls_handshakes_total", "result=\"success\""));
    }

    [Fact]
    public async Task Mbed_tls_refuses_the_64_byte_ascii_key_and_takes_the_32_byte_binary_one()
    {
        // Mbed TLS caps PSKs at MBEDTLS_PSK_MAX_LEN = 32 bytes by default: the "ascii" credential (its 64-character hex
        // string as the key) cannot be configured at all, which is why the device guide tells Mbed TLS and Zephyr
        // devices to ask for a "binary" one.
        var (_, ascii) = await platform.ProvisionWithCredentialAsync("cid-ascii");
        var refused = await RunAsync(["-B", "5", "-d", "0", "-m", "post", "-t", "application/json", "-e", "{\"t\":3}",
            "-u", ascii.Summary.PskIdentity, "-k", ascii.PskKey, $"{platform.CoapsBase}/telemetry"]);
        Assert.Null(refused.LastCode);
        Assert.Contains("-0x7100", refused.Output, StringComparison.Ordinal);

        var (_, binary) = await platform.ProvisionWithCredentialAsync("cid-binary", PskFormat.Binary);
        var accepted = await RunAsync(["-B", "10", "-d", "0", "-m", "post", "-t", "application/json", "-e", "{\"t\":3}",
            "-u", binary.Summary.PskIdentity, "-k", HexKey(binary), $"{platform.CoapsBase}/telemetry"]);
        Assert.True(accepted.LastCode == "2.01", accepted.Output);
    }

    private Task<PrometheusMetrics> MetricsAsync() => PrometheusMetrics.ScrapeAsync(platform.Silo.BaseAddress);

    /// <summary>
    /// A baseline: the exporter serves a cached scrape for a few hundred milliseconds, which may predate the previous
    /// test's last handshake. Two scrapes half a second apart that agree on the DTLS counters are current.
    /// </summary>
    private async Task<PrometheusMetrics> SettledMetricsAsync()
    {
        var previous = await MetricsAsync();
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await Task.Delay(500);
            var current = await MetricsAsync();
            if (current.Sum("nhub_dtls_handshakes_total") == previous.Sum("nhub_dtls_handshakes_total")
                && current.Sum("nhub_dtls_address_changes_total") == previous.Sum("nhub_dtls_address_changes_total"))
            {
                return current;
            }
            previous = current;
        }
        throw new TimeoutException("the DTLS counters never settled");
    }

    /// <summary>The exporter caches a scrape briefly: poll until the counters say what the test waits for.</summary>
    private async Task<PrometheusMetrics> WaitForMetricsAsync(Func<PrometheusMetrics, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var metrics = await MetricsAsync();
            if (condition(metrics))
            {
                return metrics;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("metrics never matched:\n" + string.Join('\n', metrics.Text.Split('\n').Where(l => l.StartsWith("nhub_dtls", StringComparison.Ordinal))));
            }
            await Task.Delay(100);
        }
    }
}
