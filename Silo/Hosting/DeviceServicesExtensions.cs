using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NHub.Grains;
using NHub.Grains.Embedded;
using NHub.Grains.Services;
using NHub.ServiceDefaults;
using NHub.Silo.Infrastructure;
using Npgsql;

namespace NHub.Silo.Hosting;

/// <summary>The services device grains use, chosen by mode: PostgreSQL/NATS in production, memory in embedded mode.</summary>
public static class DeviceServicesExtensions
{
    public const string MasterKeyKey = "Security:MasterKey";

    public static IHostApplicationBuilder AddNHubDeviceServices(this IHostApplicationBuilder builder, PlatformMode mode)
    {
        var services = builder.Services;
        services.AddOptions<DeviceOptions>().BindConfiguration(DeviceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<CredentialOptions>().BindConfiguration(CredentialOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        OptionsGuard.Bind<DeviceOptions>(builder.Configuration, DeviceOptions.Section);
        OptionsGuard.Bind<CredentialOptions>(builder.Configuration, CredentialOptions.Section);
        services.AddOptions<AutoProvisionOptions>().BindConfiguration(AutoProvisionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        OptionsGuard.Bind<AutoProvisionOptions>(builder.Configuration, AutoProvisionOptions.Section);
        // Parsed now, not when the first device grain activates: a production silo without a usable key must not start.
        var masterKey = ReadMasterKey(builder.Configuration, mode);
        services.AddSingleton(sp => CreateProtector(masterKey, sp.GetRequiredService<ILoggerFactory>()));

        if (mode.UsesPostgres)
        {
            services.AddSingleton(sp => NpgsqlDataSource.Create(PostgresConnectionBudget.DataSource(mode.PostgresConnectionString!,
                sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.MaxConnections)));
            services.AddSingleton<IDeviceRegistry, PostgresDeviceRegistry>();
            services.AddSingleton<IFirmwareRepository, PostgresFirmwareRepository>();
            services.AddSingleton<IDtlsSessionEraser, PostgresDtlsSessionEraser>();
        }
        else
        {
            services.AddSingleton<IDtlsSessionEraser, NoDtlsSessionTable>();
            services.AddSingleton<IDeviceRegistry, InMemoryDeviceRegistry>();
            services.AddSingleton<IFirmwareRepository, InMemoryFirmwareRepository>();
        }

        if (mode.UsesNats)
        {
            services.AddOptions<DeviceDataOptions>().BindConfiguration(DeviceDataOptions.Section).ValidateDataAnnotations().ValidateOnStart();
            OptionsGuard.Bind<DeviceDataOptions>(builder.Configuration, DeviceDataOptions.Section);
            var nats = OptionsGuard.Bind<NatsSettings>(builder.Configuration, NatsSettings.Section);
            services.AddSingleton<INatsConnection>(_ => new NatsConnection(nats.ClientOptions(mode.NatsUrl!, "nhub-device-data")));
            services.AddSingleton<INatsJSContext>(sp => new NatsJSContext((NatsConnection)sp.GetRequiredService<INatsConnection>()));
            services.AddSingleton<ITelemetryPublisher, JetStreamTelemetryPublisher>();
            services.AddSingleton<IDeviceEventPublisher, NatsDeviceEventPublisher>();
            services.AddHostedService<JetStreamSetup>();
        }
        else
        {
            services.AddSingleton<ITelemetryPublisher, InMemoryTelemetryPublisher>();
            services.AddSingleton<IDeviceEventPublisher, LoggingDeviceEventPublisher>();
        }
        return builder;
    }

    /// <summary>
    /// PSKs are encrypted at rest under <c>Security:MasterKey</c> (base64 of 32 bytes). Required whenever state is
    /// persisted; in embedded mode (nothing persisted) null: a random key is generated per run.
    /// </summary>
    private static byte[]? ReadMasterKey(IConfiguration configuration, PlatformMode mode)
    {
        var configured = configuration[MasterKeyKey];
        if (string.IsNullOrWhiteSpace(configured))
        {
            return mode.UsesPostgres
                ? throw new ConfigurationValidationException($"{MasterKeyKey} must be set (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) when ConnectionStrings:Postgres is set: PSKs are encrypted at rest with it")
                : null;
        }
        byte[] key;
        try
        {
            key = Convert.FromBase64String(configured);
        }
        catch (FormatException)
        {
            throw new ConfigurationValidationException($"{MasterKeyKey} must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`); the value is not base64");
        }
        return key.Length == 32 ? key : throw new ConfigurationValidationException($"{MasterKeyKey} must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`); it decodes to {key.Length} bytes");
    }

    private static CredentialProtector CreateProtector(byte[]? masterKey, ILoggerFactory loggers)
    {
        if (masterKey is not null)
        {
            return new CredentialProtector(masterKey);
        }
        loggers.CreateLogger("NHub.Silo").LogDebug("{Key} is not set: PSKs are encrypted with a key generated for this run (embedded mode keeps nothing anyway).", MasterKeyKey);
        return new CredentialProtector(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    }
}
