using Microsoft.Extensions.Diagnostics.HealthChecks;
using NATS.Client.Core;
using NHub.Grains;
using Npgsql;

namespace NHub.ServiceDefaults;

/// <summary>Readiness: PostgreSQL answers a trivial query.</summary>
internal sealed class PostgresHealthCheck(string connectionString) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var conn = new NpgsqlConnection(connectionString);
            await conn.OpenAsync(cancellationToken);
            await using var cmd = new NpgsqlCommand("SELECT 1", conn);
            await cmd.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("PostgreSQL reachable");
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL unreachable: " + ex.Message);
        }
    }
}

/// <summary>Readiness: the NATS server answers a PING on a short-lived connection.</summary>
internal sealed class NatsHealthCheck(string url) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var nats = new NatsConnection(NatsOpts.Default with { Url = url, Name = "nhub-health", ConnectTimeout = TimeSpan.FromSeconds(2) });
            var rtt = await nats.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy($"NATS reachable (rtt {rtt.TotalMilliseconds:F1} ms)");
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("NATS unreachable: " + ex.Message);
        }
    }
}

/// <summary>
/// Readiness of a client host (standalone gateway or API): one grain call reaches a silo. A gateway whose cluster is
/// gone can only answer 5.03, so the load balancer should send devices elsewhere.
/// </summary>
internal sealed class ClusterHealthCheck(IClusterClient client) : IHealthCheck
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var silo = await client.GetGrain<IClusterProbeGrain>(0).GetSiloIdentity().WaitAsync(CallTimeout, cancellationToken);
            return HealthCheckResult.Healthy("cluster reachable (silo " + silo + ")");
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("cluster unreachable: " + ex.Message);
        }
    }
}
