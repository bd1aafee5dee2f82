using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NHub.ServiceDefaults;

namespace NHub.Testing;

/// <summary>An Orleans client in the test process, configured the way the gateway and API hosts configure theirs.</summary>
public sealed class ClusterClient : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterClient(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterClient> ConnectAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddNHubOrleansClient();
        var host = builder.Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(cts.Token);
        return new ClusterClient(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _host.StopAsync(cts.Token);
        _host.Dispose();
    }
}

/// <summary>Settings shared by silos and clients of one test's cluster (configuration keys as an operator sets them).</summary>
public static class ClusterSettings
{
    public static Dictionary<string, string?> Production(string clusterId, string postgres, string? natsUrl) => new()
    {
        ["Orleans:ClusterId"] = clusterId,
        ["Orleans:ServiceId"] = clusterId,
        ["ConnectionStrings:Postgres"] = postgres,
        ["Nats:Url"] = natsUrl,
        ["Nats:OrleansStreamName"] = clusterId,
        // Per-cluster JetStream names, so tests sharing one nats-server never see each other's data.
        ["Nats:DeviceData:TelemetryStream"] = "T_" + clusterId,
        ["Nats:DeviceData:TelemetrySubjectPrefix"] = "t." + clusterId,
        ["Nats:DeviceData:EventsStream"] = "E_" + clusterId,
        ["Nats:DeviceData:EventsSubjectPrefix"] = "e." + clusterId,
        ["Security:MasterKey"] = TestMasterKey,
        // Production mode refuses to start without a management API key.
        ["ManagementApi:ApiKeys:0"] = TestApiKey,
    };

    /// <summary>The management API bearer key of test silos (<c>Authorization: Bearer ...</c>).</summary>
    public const string TestApiKey = "nhub-test-management-api-key-0123456789";

    /// <summary>A fixed test master key (base64 of 32 bytes).</summary>
    public const string TestMasterKey = "bmh1Yi10ZXN0LW1hc3Rlci1rZXktMzItYnl0ZXMhISE=";

    /// <summary>The same settings as environment variables (<c>Section__Key</c>) for a host process.</summary>
    public static Dictionary<string, string?> AsEnvironment(IReadOnlyDictionary<string, string?> settings)
    {
        var env = new Dictionary<string, string?>();
        foreach (var (k, v) in settings)
        {
            env[k.Replace(":", "__", StringComparison.Ordinal)] = v;
        }
        return env;
    }
}
