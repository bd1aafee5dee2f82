using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using Orleans.Configuration;
using Orleans.Hosting;
using NHub.Grains;
using Orleans.Streaming.NATS.Hosting;

namespace NHub.ServiceDefaults;

public static class OrleansClientExtensions
{
    /// <summary>
    /// Connects this process to the cluster as an Orleans client: ADO.NET (PostgreSQL) clustering when
    /// <c>ConnectionStrings:Postgres</c> is set, otherwise the localhost gateway; NATS streams when
    /// <c>Nats:Url</c> is set, otherwise memory streams.
    /// </summary>
    public static IHostApplicationBuilder AddNHubOrleansClient(this IHostApplicationBuilder builder)
    {
        var mode = PlatformMode.From(builder.Configuration);
        var cluster = OptionsGuard.Bind<OrleansClusterOptions>(builder.Configuration, OrleansClusterOptions.Section);
        var nats = OptionsGuard.Bind<NatsSettings>(builder.Configuration, NatsSettings.Section);
        builder.Services.AddSingleton(mode);
        builder.Services.AddNHubExceptionSerialization();
        builder.Services.AddStartupSummaryLine(20, _ => mode.UsesPostgres
            ? $"Orleans client of cluster '{cluster.ClusterId}' (service '{cluster.ServiceId}'), silos found through PostgreSQL {mode.PostgresDisplay}"
            : $"Orleans client of the local silo's gateway, port {cluster.GatewayPort} (cluster '{cluster.ClusterId}')");
        builder.Services.AddHealthChecks().Add(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration("cluster",
            sp => new ClusterHealthCheck(sp.GetRequiredService<IClusterClient>()), Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy,
            [ServiceDefaultsExtensions.ReadyTag], TimeSpan.FromSeconds(5)));
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            if (mode.UsesPostgres)
            {
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = PostgresConnectionBudget.Client(mode.PostgresConnectionString!);
                });
            }
            else
            {
                client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
            }
            client.AddNHubStreams(mode, nats);
            // Activity.Current crosses grain calls (a span per call; trace context in the call's headers).
            client.AddActivityPropagation();
        });
        return builder;
    }

    /// <summary>Client-side stream provider configuration; must match the silo's.</summary>
    public static IClientBuilder AddNHubStreams(this IClientBuilder client, PlatformMode mode, NatsSettings nats)
    {
        if (mode.UsesNats)
        {
            client.AddNatsStreams(PlatformStreams.ProviderName, o => ConfigureNats(o, mode, nats));
        }
        else
        {
            client.AddMemoryStreams(PlatformStreams.ProviderName);
        }
        return client;
    }

    public static void ConfigureNats(Orleans.Streaming.NATS.NatsOptions o, PlatformMode mode, NatsSettings nats)
    {
        o.NatsClientOptions = nats.ClientOptions(mode.NatsUrl!, "nhub-orleans-streams");
        o.StreamName = nats.OrleansStreamName;
        o.PartitionCount = nats.OrleansPartitionCount;
    }
}
