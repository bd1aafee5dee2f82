namespace NHub.Testing;

/// <summary>
/// The standalone CoAP gateway host (Gateway.Udp, an Orleans client of a running cluster) as a separate process,
/// configured through environment variables like <see cref="SiloProcess"/>. Every port is a fresh free loopback port.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _environment;
    private ExternalProcess? _process;

    public string Name { get; }
    public int HttpPort { get; }
    public int CoapPort { get; }
    public int CoapsPort { get; }

    public GatewayProcess(string name, IReadOnlyDictionary<string, string?> settings)
    {
        Name = name;
        HttpPort = FreePorts.Next();
        CoapPort = FreePorts.Next();
        CoapsPort = FreePorts.Next();
        _environment = SiloProcess.HostEnvironment(CoapPort, CoapsPort, settings);
    }

    public string CoapsBase => $"coaps://127.0.0.1:{CoapsPort}";

    public string Output => _process?.Output ?? "";

    /// <summary>Starts the gateway and waits until it serves (Kestrel starts after the CoAP endpoints are bound).</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        _process = ExternalProcess.Start(Name, "dotnet",
            [RepoPaths.HostDll("Gateway.Udp", "NHub.Gateway.Udp"), "--urls", $"http://127.0.0.1:{HttpPort}"], _environment);
        await _process.WaitForLineAsync("Application started", timeout ?? TimeSpan.FromSeconds(90));
    }

    public Task WaitForLineAsync(string pattern, TimeSpan? timeout = null) =>
        (_process ?? throw new InvalidOperationException("not started")).WaitForLineAsync(pattern, timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>The gateway's /metrics and REST base.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{HttpPort}");

    /// <summary>Stops the gateway as a deployment does (SIGTERM, then its graceful shutdown) and waits for it to exit.</summary>
    public Task StopAsync() => (_process ?? throw new InvalidOperationException("not started")).StopAsync(TimeSpan.FromSeconds(30));

    /// <summary>Kills the gateway at once: a crash, nothing is handed back to the grains.</summary>
    public void Kill() => _process?.Kill();

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }
}
