using NHub.Grains;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>A production-mode silo (real PostgreSQL and nats-server JetStream, both started here) co-hosting the gateway.</summary>
public sealed class ProductionPlatform : IAsyncLifetime
{
    private readonly IReadOnlyDictionary<string, string?>? _extraSettings;

    /// <summary>The fixture xUnit makes (one public constructor only).</summary>
    public ProductionPlatform()
    {
    }

    /// <param name="extraSettings">Settings on top of the production ones (e.g. the gateway's certificate).</param>
    internal ProductionPlatform(IReadOnlyDictionary<string, string?> extraSettings)
    {
        _extraSettings = extraSettings;
    }

    public PostgresServer Postgres { get; private set; } = null!;
    public NatsServer Nats { get; private set; } = null!;
    public SiloProcess Silo { get; private set; } = null!;
    public ClusterClient Client { get; private set; } = null!;
    public Dictionary<string, string?> Settings { get; private set; } = null!;
    public IClusterClient Grains => Client.Client;
    public string CoapsBase => $"coaps://127.0.0.1:{Silo.CoapsPort}";

    /// <summary>The lifecycle events the platform stored in JetStream.</summary>
    public DeviceEventStream Events => new(Nats.Url, Settings);

    /// <summary>The telemetry of <paramref name="deviceId"/> stored in the platform's JetStream stream.</summary>
    public Task<List<NATS.Client.JetStream.INatsJSMsg<byte[]>>> ReadTelemetryAsync(string deviceId) =>
        JetStreamReader.ReadAllAsync(Nats.Url, Settings["Nats:DeviceData:TelemetryStream"]!, $"{Settings["Nats:DeviceData:TelemetrySubjectPrefix"]}.{deviceId}");

    /// <summary>An HTTP client of the management REST API (the portal's view), with the cluster's API key.</summary>
    public HttpClient Api()
    {
        var http = new HttpClient { BaseAddress = new Uri(Silo.BaseAddress, "/api/v4/manage/") };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ClusterSettings.TestApiKey);
        return http;
    }

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
        Nats = await NatsServer.StartAsync();
        var cs = await Postgres.CreateDatabaseAsync("nhub_interop");
        await SiloProcess.MigrateAsync(cs);
        Settings = ClusterSettings.Production("interop" + Guid.NewGuid().ToString("N")[..6], cs, Nats.Url);
        foreach (var (key, value) in _extraSettings ?? new Dictionary<string, string?>())
        {
            Settings[key] = value;
        }
        Silo = new SiloProcess("silo", ClusterSettings.AsEnvironment(Settings));
        await Silo.StartAsync();
        await Silo.WaitForLineAsync("JetStream streams .* ready");
        Client = await ClusterClient.ConnectAsync(Settings);
    }

    public async Task DisposeAsync()
    {
        if (Client is not null)
        {
            await Client.DisposeAsync();
        }
        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }
        if (Nats is not null)
        {
            await Nats.DisposeAsync();
        }
        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }
    }

    /// <summary>Provisions a device and issues its PSK credential, as the portal would.</summary>
    public async Task<(IDeviceGrain Device, IssuedCredential Credential)> ProvisionWithCredentialAsync(string deviceId, PskFormat format = PskFormat.Ascii)
    {
        var device = Grains.GetGrain<IDeviceGrain>(deviceId);
        await device.Provision(new DeviceRecord(deviceId, "KM-3", "SN-" + deviceId, deviceId, null));
        var issued = await device.IssueCredential(format);
        return (device, issued.Credential!);
    }
}
