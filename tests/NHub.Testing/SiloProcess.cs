namespace NHub.Testing;

/// <summary>
/// The real NHub silo host (Silo/bin/.../NHub.Silo.dll) as a separate process, configured only through
/// environment variables, as an operator would run it. Every port is a fresh free loopback port.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _environment;
    private ExternalProcess? _process;

    public string Name { get; }
    public int HttpPort { get; }
    public int SiloPort { get; }
    public int GatewayPort { get; }

    /// <summary>
    /// The co-hosted CoAP gateway's plain UDP port (coap://) and DTLS port (coaps://), on 127.0.0.1; coap+tcp:// and
    /// coaps+tcp:// listen on the same numbers over TCP.
    /// </summary>
    public int CoapPort { get; }
    public int CoapsPort { get; }
    public Uri BaseAddress => new($"http://127.0.0.1:{HttpPort}");

    public SiloProcess(string name, IReadOnlyDictionary<string, string?> settings)
    {
        Name = name;
        HttpPort = FreePorts.Next();
        SiloPort = FreePorts.Next();
        GatewayPort = FreePorts.Next();
        CoapPort = FreePorts.Next();
        CoapsPort = FreePorts.Next();
        var siloSettings = new Dictionary<string, string?>
        {
            ["Orleans__SiloPort"] = SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans__GatewayPort"] = GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans__AdvertisedIPAddress"] = "127.0.0.1",
        };
        foreach (var (k, v) in settings)
        {
            siloSettings[k] = v; // the test's settings win
        }
        if (siloSettings.Keys.Any(k => k.StartsWith("Kestrel__Endpoints__", StringComparison.Ordinal)))
        {
            // Endpoints in configuration replace --urls: the plain one the tests use is then one of them.
            siloSettings["Kestrel__Endpoints__Http__Url"] = BaseAddress.ToString().TrimEnd('/');
        }
        _environment = HostEnvironment(CoapPort, CoapsPort, siloSettings);
    }

    /// <summary>
    /// What every NHub host started by the tests gets: Development environment, the CoAP endpoints on 127.0.0.1 and
    /// the given ports, the start-up line the tests wait for; then <paramref name="settings"/> on top.
    /// </summary>
    internal static Dictionary<string, string?> HostEnvironment(int coapPort, int coapsPort, IReadOnlyDictionary<string, string?> settings)
    {
        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Gateway__Udp__BindAddress"] = "127.0.0.1",
            ["Gateway__Udp__Port"] = coapPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Gateway__Dtls__BindAddress"] = "127.0.0.1",
            ["Gateway__Dtls__Port"] = coapsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // coap+tcp and coaps+tcp take the same numbers on TCP (FreePorts hands out ports free for both).
            ["Gateway__Tcp__BindAddress"] = "127.0.0.1",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };
        foreach (var (k, v) in settings)
        {
            environment[k] = v;
        }
        return environment;
    }

    public string Output => _process?.Output ?? "";

    /// <summary>Starts the silo and waits until it serves HTTP (Kestrel starts after the silo is active).</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        _process = ExternalProcess.Start(Name, "dotnet",
            [RepoPaths.HostDll("Silo", "NHub.Silo"), "--urls", BaseAddress.ToString().TrimEnd('/')], _environment);
        await _process.WaitForLineAsync("Application started", timeout ?? TimeSpan.FromSeconds(90));
    }

    /// <summary>Waits for a log line of the running silo.</summary>
    public Task WaitForLineAsync(string pattern, TimeSpan? timeout = null) =>
        (_process ?? throw new InvalidOperationException("not started")).WaitForLineAsync(pattern, timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Graceful shutdown (SIGTERM): the silo leaves the cluster and deactivates grains.</summary>
    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(30));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }

    /// <summary>Runs <c>NHub.Silo migrate</c> with the same settings.</summary>
    public static async Task MigrateAsync(string connectionString)
    {
        var (code, output) = await ExternalProcess.RunAsync("dotnet", [RepoPaths.HostDll("Silo", "NHub.Silo"), "migrate"], TimeSpan.FromSeconds(120),
            new Dictionary<string, string?> { ["ConnectionStrings__Postgres"] = connectionString });
        if (code != 0)
        {
            throw new InvalidOperationException($"migrate failed ({code}):\n{output}");
        }
    }
}
