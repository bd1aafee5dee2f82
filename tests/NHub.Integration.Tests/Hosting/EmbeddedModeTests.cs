using System.Net;
using NHub.Testing;

namespace NHub.Integration.Tests.Hosting;

/// <summary>Embedded mode needs no servers at all: nothing here uses the PostgreSQL/NATS fixture.</summary>
public sealed class EmbeddedModeTests
{
    [Fact]
    public async Task Embedded_mode_starts_with_no_servers_and_serves_dashboard_health_and_metrics()
    {
        await using var silo = new SiloProcess("embedded", new Dictionary<string, string?>());
        await silo.StartAsync();
        Assert.Contains("NOTHING IS PERSISTED", silo.Output, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var dashboard = await http.GetAsync(new Uri("/dashboard/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("<html", await dashboard.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        var health = await http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains("\"status\":\"Healthy\"", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("# TYPE", metrics, StringComparison.Ordinal);
        Assert.Contains("orleans", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_embedded_start_prints_a_short_summary_with_what_a_new_user_needs()
    {
        // Only the test harness's own settings (ports, Development): the default log levels apply.
        await using var silo = new SiloProcess("embedded-quiet", new Dictionary<string, string?>());
        await silo.StartAsync();
        var output = silo.Output;
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Before the defaults moved framework detail to Debug, this start printed ~400 lines (Orleans option dumps).
        Assert.True(lines.Length < 30, $"{lines.Length} lines at start:\n{output}");
        Assert.DoesNotContain("info: Orleans", output, StringComparison.Ordinal);

        Assert.Contains("Embedded mode: NOTHING IS PERSISTED", output, StringComparison.Ordinal);
        Assert.Contains($"silo port {silo.SiloPort}, client gateway port {silo.GatewayPort}", output, StringComparison.Ordinal);
        Assert.Contains($"coap:// on UDP 127.0.0.1:{silo.CoapPort} (plain CoAP, unknown devices auto-provisioned)", output, StringComparison.Ordinal);
        Assert.Contains($"coaps:// on UDP 127.0.0.1:{silo.CoapsPort} (DTLS 1.2: PSK, certificates, raw public keys)", output, StringComparison.Ordinal);
        var http = silo.BaseAddress.ToString().TrimEnd('/');
        Assert.Contains($"management API {http}/api/v4/manage", output, StringComparison.Ordinal);
        Assert.Contains($"dashboard {http}/dashboard", output, StringComparison.Ordinal);
        Assert.Contains($"metrics {http}/metrics", output, StringComparison.Ordinal);
        Assert.Contains($"health {http}/health/ready", output, StringComparison.Ordinal);
        var key = System.Text.RegularExpressions.Regex.Match(output, @"Management API key \(generated, embedded mode\): (\S+)").Groups[1].Value;

        // Every URL printed works as printed, the generated key included.
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri($"{http}/dashboard/"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri($"{http}/metrics"))).StatusCode);
        using var api = new HttpRequestMessage(HttpMethod.Get, new Uri($"{http}/api/v4/manage/devices/"));
        api.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(api)).StatusCode);
    }

    [Theory]
    [InlineData("Nats__Url", "not a url", "Nats:Url")]
    [InlineData("Orleans__SiloPort", "70000", "Orleans:SiloPort")]
    [InlineData("ConnectionStrings__Postgres", "Host=x;Bogus Key=1", "ConnectionStrings:Postgres")]
    [InlineData("Gateway__NodeId", "256", "Gateway:NodeId")]
    [InlineData("Gateway__Dtls__ConnectionIdLength", "3", "Gateway:Dtls:ConnectionIdLength")]
    public async Task A_bad_setting_stops_the_host_at_start_with_a_message_naming_the_key(string variable, string value, string key)
    {
        await using var silo = new SiloProcess("bad-config", new Dictionary<string, string?> { [variable] = value });
        var start = silo.StartAsync(TimeSpan.FromSeconds(60));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => start);
        Assert.Contains("exited", error.Message, StringComparison.Ordinal);
        Assert.Contains(key, silo.Output, StringComparison.Ordinal);
    }
}
