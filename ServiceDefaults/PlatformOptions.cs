using System.ComponentModel.DataAnnotations;

namespace NHub.ServiceDefaults;

/// <summary>Orleans cluster identity and endpoints, bound from the <c>Orleans</c> section.</summary>
public sealed class OrleansClusterOptions
{
    public const string Section = "Orleans";

    [Required(ErrorMessage = "Orleans:ClusterId must be set")]
    public string ClusterId { get; set; } = "nhub";

    [Required(ErrorMessage = "Orleans:ServiceId must be set")]
    public string ServiceId { get; set; } = "nhub";

    [Range(1, 65535, ErrorMessage = "Orleans:SiloPort must be between 1 and 65535")]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535, ErrorMessage = "Orleans:GatewayPort must be between 1 and 65535")]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos and clients use to reach this silo. Empty: Orleans picks one.</summary>
    public string? AdvertisedIPAddress { get; set; }

    /// <summary>The shortest period a durable reminder may have (Orleans' own default is 1 minute).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Orleans:MinimumReminderPeriod must be between 1 s and 1 h")]
    public TimeSpan MinimumReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a grain may stay idle before its activation is collected (Orleans' own default: 15 minutes). A silo
    /// holding very many device twins trades memory for reactivations with it; online devices stay active through
    /// their offline timer regardless. Must exceed Orleans' collection quantum (1 minute).
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:30", "7.00:00:00", ErrorMessage = "Orleans:GrainCollectionAge must be between 00:01:30 and 7 days")]
    public TimeSpan GrainCollectionAge { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>NATS connection used for Orleans streams and device data, bound from the <c>Nats</c> section.</summary>
public sealed class NatsSettings
{
    public const string Section = "Nats";

    /// <summary>NATS server URL, e.g. <c>nats://127.0.0.1:4222</c>. Empty: embedded mode (in-memory streams).</summary>
    public string? Url { get; set; }

    /// <summary>JetStream stream that backs the Orleans stream provider.</summary>
    [Required(ErrorMessage = "Nats:OrleansStreamName must be set")]
    [RegularExpression("^[A-Za-z0-9_-]+$", ErrorMessage = "Nats:OrleansStreamName may contain only letters, digits, '-' and '_'")]
    public string OrleansStreamName { get; set; } = "nhub-orleans";

    [Range(1, 256, ErrorMessage = "Nats:OrleansPartitionCount must be between 1 and 256")]
    public int OrleansPartitionCount { get; set; } = 8;

    /// <summary>
    /// First wait before reconnecting after the NATS connection drops (NATS.Net backs off from it up to its maximum, with
    /// jitter). NATS.Net's default is 2 s; a restarted nats-server is usually back within a second, and every publish
    /// waits for the connection, so the platform retries sooner.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "Nats:ReconnectWaitMin must be between 00:00:00.010 and 00:01:00")]
    public TimeSpan ReconnectWaitMin { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The options of a long-lived connection of this platform (its name shows in nats-server's connz).</summary>
    public NATS.Client.Core.NatsOpts ClientOptions(string url, string name) =>
        NATS.Client.Core.NatsOpts.Default with { Url = url, Name = name, ReconnectWaitMin = ReconnectWaitMin };
}

/// <summary>Which backing services are configured. Decided by configuration alone.</summary>
public sealed record PlatformMode(string? PostgresConnectionString, string? NatsUrl)
{
    public const string PostgresConnectionStringKey = "ConnectionStrings:Postgres";

    public bool UsesPostgres => !string.IsNullOrWhiteSpace(PostgresConnectionString);
    public bool UsesNats => !string.IsNullOrWhiteSpace(NatsUrl);
    public bool IsEmbedded => !UsesPostgres && !UsesNats;

    /// <summary>host:port/database of the PostgreSQL server, for logs (never the password).</summary>
    public string? PostgresDisplay
    {
        get
        {
            if (!UsesPostgres)
            {
                return null;
            }
            var b = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString);
            return $"{b.Host}:{b.Port}/{b.Database ?? b.Username}";
        }
    }

    /// <summary>The NATS URL without user information, for logs.</summary>
    public string? NatsDisplay => UsesNats && Uri.TryCreate(NatsUrl, UriKind.Absolute, out var u) ? $"{u.Scheme}://{u.Host}:{(u.IsDefaultPort ? 4222 : u.Port)}" : NatsUrl;

    public static PlatformMode From(IConfiguration configuration)
    {
        var pg = configuration.GetConnectionString("Postgres");
        var nats = configuration[$"{NatsSettings.Section}:Url"];
        var mode = new PlatformMode(pg, nats);
        mode.Validate();
        return mode;
    }

    /// <summary>Fails fast with a message naming the bad key.</summary>
    public void Validate()
    {
        if (UsesPostgres)
        {
            Npgsql.NpgsqlConnectionStringBuilder parsed;
            try
            {
                parsed = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
            {
                throw new ConfigurationValidationException($"{PostgresConnectionStringKey} must be a PostgreSQL connection string (Host=...;Database=...;Username=...;Password=...): {ex.Message}");
            }
            if (string.IsNullOrWhiteSpace(parsed.Host))
            {
                throw new ConfigurationValidationException($"{PostgresConnectionStringKey} must name the server (Host=...;Database=...;Username=...;Password=...)");
            }
        }
        if (UsesNats && (!Uri.TryCreate(NatsUrl, UriKind.Absolute, out var uri) || (uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))))
        {
            throw new ConfigurationValidationException($"Nats:Url must be an absolute nats:// (or tls://, ws://, wss://) URL, got '{NatsUrl}'");
        }
    }
}

/// <summary>A configuration error detected at start; the message names the offending key.</summary>
public sealed class ConfigurationValidationException(string message) : Exception(message);

/// <summary>Validates a bound options object with its data annotations and fails with messages that name the keys.</summary>
public static class OptionsGuard
{
    public static T Bind<T>(IConfiguration configuration, string section)
        where T : class, new()
    {
        var value = configuration.GetSection(section).Get<T>() ?? new T();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
        {
            throw new ConfigurationValidationException("Invalid configuration: " + string.Join("; ", results.Select(r => r.ErrorMessage)));
        }
        return value;
    }
}
