using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace NHub.ServiceDefaults;

/// <summary>
/// Fail fast on configuration: every host's Program runs inside <see cref="RunAsync"/> and starts with
/// <see cref="RunValidatedAsync"/>, so a bad or missing setting is found before any listener opens (HTTP, CoAP,
/// Orleans) and reported as ONE line on stderr naming the key and what is expected — no stack trace — and the process
/// exits with <see cref="ConfigurationErrorExitCode"/>. Anything else still crashes loudly, as it should.
/// </summary>
public static partial class StartupGuard
{
    /// <summary>EX_CONFIG (sysexits.h): a configuration error.</summary>
    public const int ConfigurationErrorExitCode = 78;

    /// <summary>EX_UNAVAILABLE (sysexits.h): a server the host needs at start (PostgreSQL, NATS) did not answer.</summary>
    public const int UnavailableExitCode = 69;

    /// <summary>Runs a host's main; a configuration error becomes one stderr line and exit code 78.</summary>
    public static async Task<int> RunAsync(string hostName, Func<Task<int>> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        try
        {
            return await main();
        }
        catch (Exception ex) when (ConfigurationError(ex) is { } message)
        {
            await Console.Error.WriteLineAsync($"{hostName}: configuration error: {OneLine(message)}");
            return ConfigurationErrorExitCode;
        }
        catch (Exception ex) when (UnreachableDependency(ex) is { } message)
        {
            await Console.Error.WriteLineAsync($"{hostName}: {OneLine(message)}");
            return UnavailableExitCode;
        }
    }

    /// <summary>
    /// Validates every option registered with <c>ValidateOnStart</c> and the HTTP listen addresses, then runs the app.
    /// Doing it here, not inside <c>RunAsync</c>, means nothing has started (and nothing has logged a failure with a
    /// stack trace) when a setting is wrong.
    /// </summary>
    public static async Task RunValidatedAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Services.GetService<IStartupValidator>()?.Validate();
        ValidateUrls(app.Configuration);
        await app.RunAsync();
    }

    /// <summary><c>Urls</c> (or <c>--urls</c>): semicolon-separated http(s)://host:port addresses.</summary>
    private static void ValidateUrls(IConfiguration configuration)
    {
        var urls = configuration["urls"];
        if (string.IsNullOrWhiteSpace(urls))
        {
            return;
        }
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException)
            {
                throw new ConfigurationValidationException($"Urls must be http(s)://host:port addresses separated by ';', got '{url}'");
            }
            if (address.Scheme is not ("http" or "https") || address.Port is < 0 or > 65535)
            {
                throw new ConfigurationValidationException($"Urls must be http(s)://host:port addresses with a port between 0 and 65535, got '{url}'");
            }
        }
    }

    /// <summary>The configuration message in <paramref name="ex"/> (possibly wrapped), or null when it is not a configuration error.</summary>
    internal static string? ConfigurationError(Exception ex)
    {
        switch (ex)
        {
            case ConfigurationValidationException c:
                return c.Message;
            case OptionsValidationException o:
                return string.Join("; ", o.Failures);
            case InvalidOperationException when BinderFailure().Match(ex.Message) is { Success: true } m:
                // The configuration binder's "Failed to convert configuration value 'x' at 'A:B' to type 'System.TimeSpan'".
                return $"{m.Groups["key"].Value} must be {FriendlyType(m.Groups["type"].Value)}, got '{m.Groups["value"].Value}'";
            case AggregateException a:
                var messages = a.InnerExceptions.Select(ConfigurationError).ToList();
                return messages.All(m => m is not null) && messages.Count > 0 ? string.Join("; ", messages) : null;
            default:
                return ex.InnerException is { } inner ? ConfigurationError(inner) : null;
        }
    }

    /// <summary>PostgreSQL or NATS not reachable while starting: the key to check and the driver's reason, or null.</summary>
    internal static string? UnreachableDependency(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case Npgsql.NpgsqlException:
                    return $"cannot reach PostgreSQL ({PlatformMode.PostgresConnectionStringKey}): {e.Message}";
                case NATS.Client.Core.NatsException:
                    return $"cannot reach NATS (Nats:Url): {e.Message}";
                case AggregateException a when a.InnerExceptions.Count == 1:
                    return UnreachableDependency(a.InnerExceptions[0]);
            }
        }
        return null;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    private static string FriendlyType(string type)
    {
        // System.Nullable`1[[X, assembly...]] or System.Nullable`1[X]: describe X.
        var nullable = NullableOf().Match(type);
        if (nullable.Success)
        {
            type = nullable.Groups["inner"].Value;
        }
        switch (type)
        {
            case "System.TimeSpan":
                return "a time span (hh:mm:ss, or d.hh:mm:ss)";
            case "System.Int32" or "System.Int64":
                return "a whole number";
            case "System.Double":
                return "a number";
            case "System.Boolean":
                return "a boolean (true or false)";
            case "System.Guid":
                return "a GUID";
        }
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (assembly.GetType(type) is { IsEnum: true } e)
            {
                return "one of " + string.Join(", ", Enum.GetNames(e));
            }
        }
        return "a " + type;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^System\.Nullable`1\[\[?(?<inner>[^\],]+)")]
    private static partial System.Text.RegularExpressions.Regex NullableOf();

    [System.Text.RegularExpressions.GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex BinderFailure();
}
