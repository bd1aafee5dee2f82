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
