using NHub.ServiceDefaults;

namespace NHub.Silo.Migrations;

/// <summary><c>NHub.Silo migrate</c>: applies the schema to <c>ConnectionStrings:Postgres</c> and exits.</summary>
public static class MigrateCommand
{
    public static async Task<int> RunAsync(IConfiguration configuration)
    {
        using var loggerFactory = LoggerFactory.Create(b => b.AddConfiguration(configuration.GetSection("Logging")).AddSimpleConsole(o => o.SingleLine = true));
        var log = loggerFactory.CreateLogger("NHub.Migrate");
        PlatformMode mode;
        try
        {
            mode = PlatformMode.From(configuration);
        }
        catch (ConfigurationValidationException ex)
        {
            log.LogError("{Message}", ex.Message);
            return 2;
        }
        if (!mode.UsesPostgres)
        {
            log.LogError("migrate needs {Key} (set it in appsettings.json or as ConnectionStrings__Postgres)", PlatformMode.PostgresConnectionStringKey);
            return 2;
        }
        try
        {
            var applied = await new SchemaMigrator(mode.PostgresConnectionString!, log).MigrateAsync();
            if (applied.Count == 0)
            {
                log.LogInformation("Schema is up to date");
            }
            else
            {
                log.LogInformation("Applied {Count} migration(s): {Versions}", applied.Count, string.Join(", ", applied));
            }
            return 0;
        }
        catch (Npgsql.NpgsqlException ex)
        {
            log.LogError(ex, "Migration failed: {Message}", ex.Message);
            return 1;
        }
    }
}

/// <summary>Applies migrations before the silo starts when <c>Database:MigrateOnStart</c> is true.</summary>
internal sealed class MigrateOnStartService(string connectionString, ILogger<SchemaMigrator> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => new SchemaMigrator(connectionString, logger).MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
