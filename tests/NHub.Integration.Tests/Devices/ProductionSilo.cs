using NHub.Testing;

namespace NHub.Integration.Tests.Devices;

/// <summary>One production-mode silo (real PostgreSQL + NATS JetStream) and a client, for a test class.</summary>
public sealed class ProductionSilo : IAsyncDisposable
{
    private ProductionSilo(Dictionary<string, string?> settings, SiloProcess silo, ClusterClient client, string clusterId, NatsServer nats)
    {
        Nats = nats;
        Settings = settings;
        Silo = silo;
        Client = client;
        ClusterId = clusterId;
    }

    /// <summary>This cluster's own nats-server: one deployment per NATS account (see NatsStreamOwnershipCheck).</summary>
    public NatsServer Nats { get; }

    public Dictionary<string, string?> Settings { get; }
    public SiloProcess Silo { get; private set; }
    public ClusterClient Client { get; private set; }
    public string ClusterId { get; }
    public IClusterClient Grains => Client.Client;
    public string TelemetryStream => Settings["Nats:DeviceData:TelemetryStream"]!;
    public string TelemetryPrefix => Settings["Nats:DeviceData:TelemetrySubjectPrefix"]!;

    public static async Task<ProductionSilo> StartAsync(PlatformServersFixture servers, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var cs = await servers.MigratedDatabaseAsync();
        var clusterId = "dev" + Guid.NewGuid().ToString("N")[..8];
        var nats = await NatsServer.StartAsync();
        var settings = ClusterSettings.Production(clusterId, cs, nats.Url);
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }
        var silo = new SiloProcess("silo", ClusterSettings.AsEnvironment(settings));
        await silo.StartAsync();
        await silo.WaitForLineAsync("JetStream streams .* ready");
        var client = await ClusterClient.ConnectAsync(settings);
        return new ProductionSilo(settings, silo, client, clusterId, nats);
    }

    /// <summary>Stops the silo gracefully and starts a new silo process on the same database.</summary>
    public async Task RestartSiloAsync()
    {
        await Client.DisposeAsync();
        await Silo.StopAsync();
        await Silo.DisposeAsync();
        Silo = new SiloProcess("silo-restarted", ClusterSettings.AsEnvironment(Settings));
        await Silo.StartAsync();
        Client = await ClusterClient.ConnectAsync(Settings);
    }

    /// <summary>Awaits <paramref name="task"/>; on timeout fails with the silo's log, which says why a stream event did not come.</summary>
    public async Task<T> WithSiloLog<T>(Task<T> task, TimeSpan timeout)
    {
        if (await Task.WhenAny(task, Task.Delay(timeout)) == task)
        {
            return await task;
        }
        throw new TimeoutException($"Nothing within {timeout}. Silo log:\n{Silo.Output}");
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Silo.DisposeAsync();
        await Nats.DisposeAsync();
    }
}
