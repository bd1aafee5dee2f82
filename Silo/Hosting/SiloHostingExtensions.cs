using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NHub.Grains;
using NHub.ServiceDefaults;
using NHub.Silo.Infrastructure;
using NHub.Silo.Migrations;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Streaming.NATS.Hosting;

namespace NHub.Silo.Hosting;

public static class SiloHostingExtensions
{
    private const string Npgsql = "Npgsql";

    /// <summary>
    /// Configures the Orleans silo from configuration alone. Nothing configured: embedded mode (localhost clustering,
    /// in-memory storage, reminders and streams). <c>ConnectionStrings:Postgres</c>: ADO.NET clustering, persistence and
    /// reminders on PostgreSQL. <c>Nats:Url</c>: Orleans streams on NATS JetStream.
    /// </summary>
    public static IHostApplicationBuilder AddNHubSilo(this IHostApplicationBuilder builder)
    {
        var mode = PlatformMode.From(builder.Configuration);
        builder.Services.TryAddSingleton(mode);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<OrleansClusterOptions>().BindConfiguration(OrleansClusterOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<NatsSettings>().BindConfiguration(NatsSettings.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        var cluster = OptionsGuard.Bind<OrleansClusterOptions>(builder.Configuration, OrleansClusterOptions.Section);
        var nats = OptionsGuard.Bind<NatsSettings>(builder.Configuration, NatsSettings.Section);
        var database = OptionsGuard.Bind<DatabaseOptions>(builder.Configuration, DatabaseOptions.Section);
        var orleansDb = mode.UsesPostgres ? PostgresConnectionBudget.Orleans(mode.PostgresConnectionString!, database.MaxConnections) : null;
        if (mode.UsesPostgres && database.MigrateOnStart)
        {
            builder.Services.AddHostedService(sp => new MigrateOnStartService(mode.PostgresConnectionString!, sp.GetRequiredService<ILogger<SchemaMigrator>>()));
        }

        builder.AddNHubDeviceServices(mode);
        builder.Services.AddStartupSummaryLine(10, _ => PersistenceSummary(mode));
        builder.Services.AddStartupSummaryLine(20, _ => $"Orleans silo of cluster '{cluster.ClusterId}' (service '{cluster.ServiceId}'): silo port {cluster.SiloPort}, " +
            $"client gateway port {cluster.GatewayPort}{(mode.UsesPostgres ? "" : ", localhost clustering")}");
        builder.Services.AddStartupHttpEndpoint(20, "dashboard", "/dashboard");
        if (mode.UsesNats)
        {
            // Registered before the silo so it runs first (hosted services start in registration order).
            builder.Services.AddHostedService(_ => new NatsStreamOwnershipCheck(mode, nats));
        }

        builder.Services.AddNHubExceptionSerialization();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = cluster.MinimumReminderPeriod);
            silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = cluster.GrainCollectionAge);

            if (mode.UsesPostgres)
            {
                ConfigureEndpoints(silo, cluster);
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = Npgsql;
                    o.ConnectionString = orleansDb;
                });
                silo.AddAdoNetGrainStorage(GrainStorageNames.Default, o =>
                {
                    o.Invariant = Npgsql;
                    o.ConnectionString = orleansDb;
                });
                silo.AddAdoNetGrainStorage(GrainStorageNames.PubSub, o =>
                {
                    o.Invariant = Npgsql;
                    o.ConnectionString = orleansDb;
                });
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = Npgsql;
                    o.ConnectionString = orleansDb;
                });
            }
            else
            {
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, null, cluster.ServiceId, cluster.ClusterId);
                silo.AddMemoryGrainStorage(GrainStorageNames.Default);
                silo.AddMemoryGrainStorage(GrainStorageNames.PubSub);
                silo.UseInMemoryReminderService();
            }

            if (mode.UsesNats)
            {
                silo.AddNatsStreams(PlatformStreams.ProviderName, o => OrleansClientExtensions.ConfigureNats(o, mode, nats));
            }
            else
            {
                silo.AddMemoryStreams(PlatformStreams.ProviderName);
            }

            silo.AddDashboard();
            // Activity.Current crosses grain calls (a span per call; trace context in the call's headers).
            silo.AddActivityPropagation();
        });
        return builder;
    }

    private static void ConfigureEndpoints(ISiloBuilder silo, OrleansClusterOptions cluster)
    {
        if (string.IsNullOrWhiteSpace(cluster.AdvertisedIPAddress))
        {
            silo.ConfigureEndpoints(cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
            return;
        }
        if (!IPAddress.TryParse(cluster.AdvertisedIPAddress, out var ip))
        {
            throw new ConfigurationValidationException($"Orleans:AdvertisedIPAddress must be an IP address, got '{cluster.AdvertisedIPAddress}'");
        }
        silo.ConfigureEndpoints(ip, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(ip));
    }

    /// <summary>The start-up summary's line on what is (and is not) persisted, and where.</summary>
    private static string PersistenceSummary(PlatformMode mode)
    {
        if (mode.IsEmbedded)
        {
            return "Embedded mode: NOTHING IS PERSISTED (grain state, reminders, streams and telemetry are in this process's memory); " +
                "set ConnectionStrings:Postgres and Nats:Url for production";
        }
        var storage = mode.UsesPostgres
            ? $"clustering, grain state and reminders in PostgreSQL {mode.PostgresDisplay}"
            : "clustering, grain state and reminders in memory (NOT persisted: ConnectionStrings:Postgres is not set)";
        var streams = mode.UsesNats
            ? $"streams, telemetry and device events in NATS JetStream {mode.NatsDisplay}"
            : "streams and telemetry in memory (NOT durable: Nats:Url is not set)";
        return $"Production mode: {storage}; {streams}";
    }
}

/// <summary>Database settings, bound from the <c>Database</c> section.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>Apply pending schema migrations before the silo starts (the same as running <c>migrate</c>).</summary>
    public bool MigrateOnStart { get; set; }

    /// <summary>PostgreSQL connections this silo may open in all (<see cref="PostgresConnectionBudget"/>).</summary>
    [System.ComponentModel.DataAnnotations.Range(4, 10_000, ErrorMessage = "Database:MaxConnections must be between 4 and 10000")]
    public int MaxConnections { get; set; } = PostgresConnectionBudget.DefaultSiloConnections;
}
