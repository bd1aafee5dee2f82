using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace NHub.ServiceDefaults;

/// <summary>
/// One line of the start-up summary, rendered once the host has started (ports are bound then). Components add theirs
/// with <see cref="StartupSummaryExtensions.AddStartupSummaryLine"/>; <paramref name="Order"/> sorts them
/// (10 mode and persistence, 20 cluster, 30 CoAP, 40 HTTP, 50 credentials). Null from <paramref name="Render"/>: no line.
/// </summary>
public sealed record StartupSummaryLine(int Order, Func<IServiceProvider, string?> Render);

/// <summary>A path served over HTTP, listed on the summary's HTTP line (e.g. "dashboard", "/dashboard").</summary>
public sealed record StartupHttpEndpoint(int Order, string Name, string Path);

public static class StartupSummaryExtensions
{
    public static IServiceCollection AddStartupSummaryLine(this IServiceCollection services, int order, Func<IServiceProvider, string?> render)
    {
        services.AddSingleton(new StartupSummaryLine(order, render));
        return services;
    }

    public static IServiceCollection AddStartupHttpEndpoint(this IServiceCollection services, int order, string name, string path)
    {
        services.AddSingleton(new StartupHttpEndpoint(order, name, path));
        return services;
    }
}

/// <summary>
/// Prints the few Information lines a person starting the platform needs — mode, what is persisted where, ports, URLs,
/// the generated API key — when the host has started. Framework detail (Orleans option dumps and the like) is at
/// Debug (<see cref="LoggingDefaults"/>).
/// </summary>
internal sealed partial class StartupSummaryReporter(
    IServiceProvider services,
    IEnumerable<StartupSummaryLine> lines,
    IEnumerable<StartupHttpEndpoint> httpEndpoints,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : IHostedService
{
    /// <summary>The category of the summary lines.</summary>
    public const string Category = "NHub";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Report);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Report()
    {
        var logger = loggers.CreateLogger(Category);
        var all = lines.ToList();
        if (HttpLine() is { } http)
        {
            all.Add(new StartupSummaryLine(40, _ => http));
        }
        foreach (var line in all.OrderBy(l => l.Order))
        {
            if (line.Render(services) is { } text)
            {
                LogSummary(logger, text);
            }
        }
    }

    /// <summary>"HTTP: management API http://localhost:8080/api/v4/manage, dashboard http://localhost:8080/dashboard, ..." from the bound addresses.</summary>
    private string? HttpLine()
    {
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null || addresses.Count == 0)
        {
            return null;
        }
        var all = addresses.Select(Displayable).ToList();
        var first = all[0].TrimEnd('/');
        var urls = string.Join(", ", httpEndpoints.OrderBy(e => e.Order).Select(e => $"{e.Name} {first}{e.Path}"));
        return all.Count == 1 ? $"HTTP: {urls}" : $"HTTP: {urls} (also on {string.Join(", ", all.Skip(1))})";
    }

    /// <summary>A wildcard listen address shown as localhost, so the URL can be opened as printed.</summary>
    private static string Displayable(string address) => address
        .Replace("://[::]", "://localhost", StringComparison.Ordinal)
        .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
        .Replace("://*", "://localhost", StringComparison.Ordinal)
        .Replace("://+", "://localhost", StringComparison.Ordinal);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Summary}")]
    private static partial void LogSummary(ILogger logger, string summary);
}
