using System.Net;
using System.Net.Http.Json;
using System.Text;
using NHub.Grains;
using NHub.Testing;
using Xunit.Abstractions;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// The stateless gateway (docs/stateless-gateway.md) with clients nobody here wrote: standalone gateways behind a UDP
/// load balancer (<see cref="UdpBalancer"/>), sessions kept in the platform's store on PostgreSQL, libcoap 4.3.5 on
/// Mbed TLS negotiating RFC 9146 Connection IDs. A device whose gateway dies or whose flow the balancer moves keeps its
/// DTLS session and its Observe relation: no handshake (counted on every gateway's /metrics), no command lost or
/// delivered twice.
/// </summary>
public sealed class StatelessGatewayTests(ProductionPlatform platform, ITestOutputHelper output) : IClassFixture<ProductionPlatform>
{
    private const string CidClient = "coap-client"; // .tools/bin: libcoap 4.3.5 on Mbed TLS

    private Dictionary<string, string?> GatewaySettings(int nodeId)
    {
        var settings = ClusterSettings.AsEnvironment(platform.Settings);
        settings["Gateway__PlainMode"] = "Off";
        settings["Gateway__NodeId"] = nodeId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return settings;
    }

    /// <summary>Two standalone gateways (node ids 1 and 2) behind one <see cref="UdpBalancer"/>.</summary>
    private sealed record GatewayPair(GatewayProcess A, GatewayProcess B, UdpBalancer Balancer) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Balancer.Dispose();
            await A.DisposeAsync();
            await B.DisposeAsync();
        }
    }

    private async Task<GatewayPair> StartPairAsync()
    {
        var a = new GatewayProcess("gateway-a", GatewaySettings(1));
        var b = new GatewayProcess("gateway-b", GatewaySettings(2));
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        return new GatewayPair(a, b, new UdpBalancer(Coaps(a), Coaps(b)));
    }

    private static IPEndPoint Coaps(GatewayProcess gateway) => new(IPAddress.Loopback, gateway.CoapsPort);

    private static double Handshakes(PrometheusMetrics m) => m.Sum("nhub_dtls_handshakes_total", "result=\"success\"");

    private static double Takeovers(PrometheusMetrics m) => m.Sum("nhub_dtls_takeovers_total", "result=\"taken_over\"");

    [Fact]
    public async Task A_device_the_load_balancer_moves_between_two_gateways_keeps_its_session_and_every_reading_is_stored_once()
    {
        const string id = "stateless-move";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        await using var pair = await StartPairAsync();
        var (a, b, balancer) = (pair.A, pair.B, pair.Balancer);

        // Five POSTs, each from a new source port (-d 1): each is a new flow, which the balancer sends to the other gateway.
        // -p: from a block of free ports below the ephemeral range, since -d 1 moves to port + 1 each time.
        var r = await LibCoap.RunAsync(CidClient, ["-B", "30", "-p", FreePorts.NextBlock(16).ToString(System.Globalization.CultureInfo.InvariantCulture), "-d", "1", "-G", "5", "-m", "post", "-t", "application/json", "-e", "{\"t\":5}",
            "-u", credential.Summary.PskIdentity, "-k", "0x" + credential.PskKey, $"coaps://127.0.0.1:{balancer.EndPoint.Port}/telemetry"], timeoutSeconds: 60);

        Assert.True(r.Codes.Count(c => c == "2.01") == 5, r.Output);
        var (ma, mb) = (await PrometheusMetrics.ScrapeAsync(a.BaseAddress), await PrometheusMetrics.ScrapeAsync(b.BaseAddress));
        output.WriteLine($"forwarded a={balancer.Forwarded[0]} b={balancer.Forwarded[1]}\n-- a\n{ma.Dtls}\n-- b\n{mb.Dtls}");
        Assert.True(balancer.Forwarded.All(n => n > 0), "the balancer used one gateway only");
        Assert.Equal(1, Handshakes(ma) + Handshakes(mb));
        Assert.True(Takeovers(ma) + Takeovers(mb) >= 1, "no takeover counted");
        // Stored once each, whichever gateway answered.
        Assert.Equal(5, (await platform.ReadTelemetryAsync(id)).Count);
        AssertNoSequenceNumberReused(balancer);
    }

    [Fact]
    public async Task A_certificate_device_moved_between_two_gateways_keeps_its_session_without_a_new_handshake()
    {
        const string id = "stateless-cert-move";
        await platform.Grains.GetGrain<IDeviceGrain>(id).Provision(new DeviceRecord(id, "KM-3", "SN-" + id, id, null));
        using var authority = TestCertificates.Authority("Stateless Test CA");
        using var api = platform.Api();
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("certificate-authorities", new { certificate = authority.CertificatePem })).StatusCode);
        var directory = Directory.CreateTempSubdirectory("nhub-stateless-cert-");
        try
        {
            using var device = TestCertificates.Device(id, authority);
            var (certificate, key) = device.WritePem(directory.FullName, id);
            await using var pair = await StartPairAsync();
            var (a, b, balancer) = (pair.A, pair.B, pair.Balancer);

            // libcoap 4.3.5 on Mbed TLS: ECDHE-ECDSA with its certificate and a Connection ID, a new source port for each
            // of five POSTs (-d 1), so the balancer alternates gateways: the session, enrolled at the first, moves.
            var r = await LibCoap.RunAsync(CidClient, ["-B", "30", "-p", FreePorts.NextBlock(16).ToString(System.Globalization.CultureInfo.InvariantCulture), "-d", "1", "-G", "5",
                "-m", "post", "-t", "application/json", "-e", "{\"t\":8}", "-c", certificate, "-j", key, $"coaps://127.0.0.1:{balancer.EndPoint.Port}/telemetry"], timeoutSeconds: 60);

            Assert.True(r.Codes.Count(c => c == "2.01") == 5, r.Output);
            var (ma, mb) = (await PrometheusMetrics.ScrapeAsync(a.BaseAddress), await PrometheusMetrics.ScrapeAsync(b.BaseAddress));
            output.WriteLine($"forwarded a={balancer.Forwarded[0]} b={balancer.Forwarded[1]}\n-- a\n{ma.Dtls}\n-- b\n{mb.Dtls}");
            Assert.True(balancer.Forwarded.All(n => n > 0), "the balancer used one gateway only");
            Assert.Equal(1, Handshakes(ma) + Handshakes(mb));
            Assert.Equal(1, ma.Sum("nhub_dtls_handshakes_total", "auth=\"x509\"") + mb.Sum("nhub_dtls_handshakes_total", "auth=\"x509\""));
            Assert.True(Takeovers(ma) + Takeovers(mb) >= 1, "no takeover counted");
            Assert.Equal(5, (await platform.ReadTelemetryAsync(id)).Count);
            AssertNoSequenceNumberReused(balancer);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_confirmable_retransmitted_to_another_gateway_is_stored_once()
    {
        const string id = "stateless-retransmit";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        await using var pair = await StartPairAsync();
        var (a, b, balancer) = (pair.A, pair.B, pair.Balancer);
        // Gateway a stores the reading and answers 2.01, which is lost; then a leaves the balancer. The device's
        // retransmission (same Message ID, same bytes) reaches b, which has never seen it.
        var dropped = 0;
        balancer.DropDownlink = d =>
        {
            var protectedRecord = d.Length > 13 && d[0] is 23 or 25 && ((d[3] << 8) | d[4]) == 1 && d.AsSpan(5, 6).IndexOfAnyExcept((byte)0) >= 0;
            if (protectedRecord && Interlocked.Exchange(ref dropped, 1) == 0)
            {
                balancer.MarkDown(0);
                return true;
            }
            return false;
        };

        var r = await LibCoap.RunAsync(CidClient, ["-B", "30", "-d", "0", "-m", "post", "-t", "application/json", "-e", "{\"t\":6}",
            "-u", credential.Summary.PskIdentity, "-k", "0x" + credential.PskKey, $"coaps://127.0.0.1:{balancer.EndPoint.Port}/telemetry"]);

        Assert.True(r.LastCode == "2.01", r.Output);
        Assert.Equal(1, dropped);
        var (ma, mb) = (await PrometheusMetrics.ScrapeAsync(a.BaseAddress), await PrometheusMetrics.ScrapeAsync(b.BaseAddress));
        Assert.Equal(1, Handshakes(ma) + Handshakes(mb));
        Assert.Equal(1, Takeovers(mb));
        // Both gateways published it, with the same JetStream message id: stored once.
        Assert.Single(await platform.ReadTelemetryAsync(id));
    }

    [Fact]
    public async Task Kill_9_of_the_gateway_a_device_posts_through_loses_no_reading_and_stores_none_twice()
    {
        const string id = "stateless-kill-post";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        await using var pair = await StartPairAsync();
        var (a, b, balancer) = (pair.A, pair.B, pair.Balancer);

        // Eight confirmable readings in one session, a second apart (-G 8), through gateway a (the first flow).
        var posting = LibCoap.RunAsync(CidClient, ["-B", "60", "-d", "0", "-G", "8", "-m", "post", "-t", "application/json", "-e", "{\"t\":7}",
            "-u", credential.Summary.PskIdentity, "-k", "0x" + credential.PskKey, $"coaps://127.0.0.1:{balancer.EndPoint.Port}/telemetry"], timeoutSeconds: 90);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await platform.ReadTelemetryAsync(id)).Count < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "three readings never arrived");
            await Task.Delay(100);
        }
        a.Kill();
        balancer.MarkDown(0);

        var r = await posting;
        output.WriteLine(r.Output);
        Assert.True(r.Codes.Count(c => c == "2.01") == 8, r.Output);
        var mb = await PrometheusMetrics.ScrapeAsync(b.BaseAddress);
        Assert.Equal(0, Handshakes(mb));
        Assert.Equal(1, Takeovers(mb));
        // Every acknowledged reading stored, none twice (one in flight at the kill may have been stored by a and
        // retransmitted to b: the same JetStream message id).
        Assert.Equal(8, (await platform.ReadTelemetryAsync(id)).Count);
        AssertNoSequenceNumberReused(balancer);
    }

    [Fact]
    public async Task Kill_9_of_the_gateway_holding_an_observing_device_costs_no_handshake_and_loses_no_command()
    {
        const string id = "stateless-kill";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        using var api = platform.Api();
        var events = platform.Events;
        await using var pair = await StartPairAsync();
        var (a, b, balancer) = (pair.A, pair.B, pair.Balancer); // the first flow goes to a

        // The device observes its commands; its keep-alive (-K 3: an empty CON after 3 s of silence) is its only uplink.
        // Shorter than the failover (gateway b is up already), so no older ping is still being retransmitted: libcoap
        // takes the RST that answers an older ping for a rejection and quits.
        var observing = LibCoap.RunAsync(CidClient, ["-B", "60", "-s", "30", "-d", "0", "-K", "3", "-m", "get",
            "-u", credential.Summary.PskIdentity, "-k", "0x" + credential.PskKey, $"coaps://127.0.0.1:{balancer.EndPoint.Port}/commands/{id}"], timeoutSeconds: 90);
        await events.WaitForAsync(id, "online", timeout: TimeSpan.FromSeconds(30));
        var first = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "first", new { n = 1 });
        await events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(first), TimeSpan.FromSeconds(30));
        Assert.True(Handshakes(await PrometheusMetrics.ScrapeAsync(a.BaseAddress)) == 1, "the session is not on gateway a");

        // Gateway a dies with the session and the relation in memory; the health check takes it out of the balancer.
        a.Kill();
        balancer.MarkDown(0);
        // Posted while no gateway holds the device: accepted, and pushed to a gateway that is gone.
        var second = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "second", new { n = 2 });

        await events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(second), TimeSpan.FromSeconds(40));
        var mb = await PrometheusMetrics.ScrapeAsync(b.BaseAddress);
        output.WriteLine(mb.Dtls);
        Assert.Equal(0, Handshakes(mb));
        Assert.Equal(1, Takeovers(mb));

        var r = await observing;
        output.WriteLine(r.Output);
        Assert.Equal(1, Notifications(r.Output, "first"));
        Assert.Equal(1, Notifications(r.Output, "second"));
        var delivered = (await events.ReadAllAsync(id)).Where(e => e.GetProperty("type").GetString() == "command_delivered").Select(DeviceEventStream.CommandId).ToList();
        Assert.Equal([DtlsDeviceFlowTests.CommandId(first), DtlsDeviceFlowTests.CommandId(second)], delivered);
        // Gateway a was killed in the middle of its sequence block; b started past it: no nonce was used twice.
        AssertNoSequenceNumberReused(balancer);
    }

    [Fact]
    public async Task A_graceful_restart_of_the_only_gateway_is_invisible_to_an_observing_device()
    {
        const string id = "stateless-restart";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id, PskFormat.Binary);
        using var api = platform.Api();
        var events = platform.Events;
        var gateway = new GatewayProcess("gateway-1", GatewaySettings(1));
        await gateway.StartAsync();
        using var balancer = new UdpBalancer(Coaps(gateway));

        // The keep-alive (-K 15) is longer than the restart: libcoap sends a new ping (new Message ID) every -K seconds
        // while the old ones are retransmitted, and takes the RST answering an older ping for a rejection and quits.
        var observing = LibCoap.RunAsync(CidClient, ["-B", "80", "-s", "60", "-d", "0", "-K", "15", "-m", "get",
            "-u", credential.Summary.PskIdentity, "-k", "0x" + credential.PskKey, $"coaps://127.0.0.1:{balancer.EndPoint.Port}/commands/{id}"], timeoutSeconds: 120);
        await events.WaitForAsync(id, "online", timeout: TimeSpan.FromSeconds(30));
        var before = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "before", new { n = 1 });
        await events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(before), TimeSpan.FromSeconds(30));

        // A deploy: the gateway stops gracefully (leaving the session in the store, no close_notify), a new process starts.
        await gateway.StopAsync();
        Assert.Contains("left in the session store", gateway.Output, StringComparison.Ordinal);
        await gateway.DisposeAsync();
        await using var next = new GatewayProcess("gateway-2", GatewaySettings(1));
        await next.StartAsync();
        balancer.SetBackend(0, Coaps(next));
        var after = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "after", new { n = 2 });

        try
        {
            await events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(after), TimeSpan.FromSeconds(50));
        }
        catch (TimeoutException)
        {
            output.WriteLine($"-- downlink records {string.Join(",", balancer.DownlinkRecords)} forwarded {string.Join(",", balancer.Forwarded)}");
            output.WriteLine($"-- stopped gateway\n{gateway.Output}\n-- next gateway\n{next.Output}\n-- device\n{(await observing).Output}");
            throw;
        }
        var m = await PrometheusMetrics.ScrapeAsync(next.BaseAddress);
        output.WriteLine(m.Dtls);
        Assert.Equal(0, Handshakes(m));
        Assert.Equal(1, Takeovers(m));
        var r = await observing;
        Assert.Equal(1, Notifications(r.Output, "before"));
        Assert.Equal(1, Notifications(r.Output, "after"));
        AssertNoSequenceNumberReused(balancer);
    }

    [Fact]
    public async Task A_client_without_connection_id_gets_silence_after_its_gateway_died_and_succeeds_with_a_new_handshake()
    {
        const string id = "stateless-nocid";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id);
        await using var pair = await StartPairAsync();
        var (a, b, balancer) = (pair.A, pair.B, pair.Balancer);
        string[] Post(int n) => ["-B", "20", "-m", "post", "-t", "application/json", "-e", $"{{\"t\":{n}}}",
            "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"coaps://127.0.0.1:{balancer.EndPoint.Port}/telemetry"];

        // libcoap 4.3.1 on OpenSSL has no CID: its session cannot be found by another gateway. It observes through a.
        var observing = LibCoap.RunAsync("coap-client-openssl", ["-B", "20", "-s", "15", "-K", "2", "-m", "get",
            "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"coaps://127.0.0.1:{balancer.EndPoint.Port}/commands/{id}"], timeoutSeconds: 60);
        await platform.Events.WaitForAsync(id, "online", timeout: TimeSpan.FromSeconds(30));
        a.Kill();
        balancer.MarkDown(0);

        // Its records reach b, which has no session for them and stays silent; the client ends on its own bound.
        var stranded = await observing;
        Assert.True(stranded.ExitCode is 0 or 1, stranded.Output);
        var mb = await PrometheusMetrics.ScrapeAsync(b.BaseAddress);
        Assert.Equal(0, Takeovers(mb));
        // A new run handshakes with b and is served.
        var r = await LibCoap.RunAsync("coap-client-openssl", Post(1));
        Assert.True(r.LastCode == "2.01", r.Output);
        Assert.Equal("{\"t\":1}", Encoding.UTF8.GetString(Assert.Single(await platform.ReadTelemetryAsync(id)).Data!));
    }

    /// <summary>
    /// The session's epoch-1 records, from every gateway that held it, never share a sequence number: with the AEAD
    /// suites the sequence number is the explicit nonce, and the key is the session's (docs/dtls-sequence-reservation.md).
    /// The final flight's Finished (sequence 0) may be re-sent as the same bytes, which is not a second use.
    /// </summary>
    private void AssertNoSequenceNumberReused(UdpBalancer balancer)
    {
        var records = balancer.DownlinkRecords.Where(r => r.Epoch == 1 && r.Sequence > 0).ToList();
        output.WriteLine($"downlink epoch-1 records: {records.Count}, sequence numbers {string.Join(",", records.Select(r => r.Sequence))}");
        Assert.NotEmpty(records);
        Assert.Equal(records.Count, records.Distinct().Count());
    }

    /// <summary>Notifications (distinct 2.05 PDUs, by Message ID, as libcoap's -v 6 logs them) whose payload names <paramref name="command"/>.</summary>
    private static int Notifications(string output, string command) =>
        System.Text.RegularExpressions.Regex.Matches(output, "t:(?:CON|NON|ACK) c:2\\.05 i:([0-9a-f]{4})[^\\n]*\"" + System.Text.RegularExpressions.Regex.Escape(command) + "\"")
            .Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).Count();
}
