namespace NHub.Testing;

/// <summary>A real nats-server (>= 2.10) with JetStream, on a free loopback port, its store in a temp dir.</summary>
public sealed class NatsServer : IAsyncDisposable
{
    private readonly string _storeDir;
    private ExternalProcess? _process;

    public int Port { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    private NatsServer(string storeDir, int port)
    {
        _storeDir = storeDir;
        Port = port;
    }

    public static async Task<NatsServer> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "nhub-nats-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var server = new NatsServer(dir, FreePorts.Next());
        await server.StartServerAsync();
        return server;
    }

    /// <summary>Starts (or restarts, keeping the JetStream store) the server on the same port.</summary>
    public async Task StartServerAsync()
    {
        _process = ExternalProcess.Start("nats-server", RepoPaths.Tool("nats-server"),
            ["-js", "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-sd", _storeDir, "-n", "nhub-test"]);
        await _process.WaitForLineAsync("Server is ready", TimeSpan.FromSeconds(30));
    }

    public async Task StopServerAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopServerAsync();
        try
        {
            Directory.Delete(_storeDir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
