namespace NHub.Testing;

/// <summary>How a host process ended: its exit code, everything it printed, and stderr alone.</summary>
public sealed record HostExit(int ExitCode, string Output, string Errors)
{
    /// <summary>The non-empty lines written to stderr.</summary>
    public IReadOnlyList<string> ErrorLines => Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// Runs a host (<c>HostDll(project, assembly)</c>) configured like <see cref="SiloProcess"/> (free loopback ports,
    /// Development environment) with <paramref name="settings"/> on top, and waits for it to exit on its own. A host
    /// that starts instead of exiting fails the wait after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<HostExit> RunAsync(string project, string assembly, IReadOnlyDictionary<string, string?> settings, string? urls = null, TimeSpan? timeout = null)
    {
        var ports = new Dictionary<string, string?>
        {
            ["Orleans__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans__GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans__AdvertisedIPAddress"] = "127.0.0.1",
        };
        foreach (var (k, v) in settings)
        {
            ports[k] = v;
        }
        var environment = SiloProcess.HostEnvironment(FreePorts.Next(), FreePorts.Next(), ports);
        var (code, output, errors) = await ExternalProcess.RunCapturedAsync("dotnet",
            [RepoPaths.HostDll(project, assembly), "--urls", urls ?? $"http://127.0.0.1:{FreePorts.Next()}"], timeout ?? TimeSpan.FromSeconds(60), environment);
        return new HostExit(code, output, errors);
    }
}
