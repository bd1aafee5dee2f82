using Microsoft.Extensions.Configuration.Memory;

namespace NHub.ServiceDefaults;

/// <summary>
/// Default log levels of every NHub host, as the lowest-precedence configuration source: appsettings.json, environment
/// variables (<c>Logging__LogLevel__Orleans=Information</c>) and the command line override any of them. NHub logs at
/// Information (the start-up summary, device events in embedded mode); the frameworks under it — Orleans' option dumps
/// and membership chatter, ASP.NET Core, Polly, NATS — only from Warning, so a start prints the summary and not ~300
/// lines. Raise a category to Debug to see what it says.
/// </summary>
public static class LoggingDefaults
{
    public static readonly IReadOnlyDictionary<string, string?> Levels = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:NHub"] = "Information",
        ["Logging:LogLevel:Orleans"] = "Warning",
        ["Logging:LogLevel:Microsoft"] = "Warning",
        // "Application started" (the line scripts wait for) and "Application is shutting down".
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        // Key ring warnings about where ASP.NET's data protection keys live: the API authenticates with bearer keys
        // and stores nothing protected, so they say nothing an operator must act on.
        ["Logging:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error",
        ["Logging:LogLevel:Polly"] = "Warning",
        ["Logging:LogLevel:NATS"] = "Warning",
        ["Logging:LogLevel:System.Net.Http"] = "Warning",
    };

    /// <summary>Adds <see cref="Levels"/> beneath every other configuration source of the host.</summary>
    public static IHostApplicationBuilder AddLoggingDefaults(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Levels });
        return builder;
    }
}
