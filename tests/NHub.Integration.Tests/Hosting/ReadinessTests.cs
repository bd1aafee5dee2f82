using System.Net;
using System.Text.Json;
using NHub.Testing;

namespace NHub.Integration.Tests.Hosting;

/// <summary>
/// /health/ready follows the dependencies a host needs (real PostgreSQL and nats-server, stopped and restarted by the
/// test; the cluster for a client host), while /health/live stays up: an orchestrator stops sending traffic, it does
/// not restart a process that is fine.
/// </summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task A_production_silo_is_not_ready_while_nats_or_postgresql_is_down_and_live_throughout()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var nats = await NatsServer.StartAsync();
        var cs = await postgres.CreateDatabaseAsync("nhub_ready");
        await SiloProcess.MigrateAsync(cs);
        var settings = ClusterSettings.Production("ready" + Guid.NewGuid().ToString("N")[..6], cs, nats.Url);
        await using var silo = new SiloProcess("silo", ClusterSettings.AsEnvironment(settings));
        await silo.StartAsync();
        using var http = new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        // The start-up summary says where things are persisted.
        Assert.Contains($"Production mode: clustering, grain state and reminders in PostgreSQL 127.0.0.1:{postgres.Port}/nhub_ready; " +
            $"streams, telemetry and device events in NATS JetStream {nats.Url}", silo.Output, StringComparison.Ordinal);

        var (status, body) = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", Check(body, "postgres"));
        Assert.Equal("Healthy", Check(body, "nats"));

        await nats.StopServerAsync();
        (status, body) = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", Check(body, "nats"));
        Assert.Equal("Healthy", Check(body, "postgres"));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/health/live")).Status);

        await nats.StartServerAsync();
        Assert.Equal(HttpStatusCode.OK, await UntilAsync(http, "/health/ready", HttpStatusCode.OK));

        await postgres.StopServerAsync();
        (status, body) = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", Check(body, "postgres"));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/health/live")).Status);

        await postgres.StartServerAsync();
        Assert.Equal(HttpStatusCode.OK, await UntilAsync(http, "/health/ready", HttpStatusCode.OK));
    }

    [Fact]
    public async Task A_standalone_gateway_is_not_ready_while_its_cluster_is_gone()
    {
        await using var postgres = await PostgresServer.StartAsync();
        var cs = await postgres.CreateDatabaseAsync("nhub_ready_gw");
        await SiloProcess.MigrateAsync(cs);
        var settings = ClusterSettings.Production("readygw" + Guid.NewGuid().ToString("N")[..6], cs, natsUrl: null);
        settings.Remove("Nats:Url");
        var environment = ClusterSettings.AsEnvironment(settings);
        await using var silo = new SiloProcess("silo", environment);
        await silo.StartAsync();
        await using var gateway = new GatewayProcess("gateway", environment);
        await gateway.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gateway.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        Assert.Contains($"silos found through PostgreSQL 127.0.0.1:{postgres.Port}/nhub_ready_gw", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("(plain CoAP answered 4.01 \"DTLS required\")", gateway.Output, StringComparison.Ordinal);

        var (status, body) = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", Check(body, "cluster"));

        await silo.StopAsync();
        (status, body) = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", Check(body, "cluster"));
        Assert.Equal("Healthy", Check(body, "postgres"));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/health/live")).Status);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>Asks again (each answer is a fresh check) until <paramref name="expected"/>: a restarted server may fail one stale pooled connection first.</summary>
    private static async Task<HttpStatusCode> UntilAsync(HttpClient http, string path, HttpStatusCode expected)
    {
        var status = HttpStatusCode.InternalServerError;
        for (var attempt = 0; attempt < 20 && status != expected; attempt++)
        {
            status = (await GetAsync(http, path)).Status;
        }
        return status;
    }

    private static string? Check(JsonElement body, string name) => body.GetProperty("checks").GetProperty(name).GetProperty("status").GetString();
}
