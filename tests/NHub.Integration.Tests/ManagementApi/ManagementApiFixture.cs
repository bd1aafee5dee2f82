using System.Net.Http.Headers;
using NHub.Integration.Tests.Devices;
using NHub.Testing;

namespace NHub.Integration.Tests.ManagementApi;

/// <summary>
/// One production-mode silo (real PostgreSQL + NATS JetStream) co-hosting the management API, shared by every test
/// class of the <see cref="ManagementApiCollection"/>: one silo start for the whole API suite. Tests keep out of each
/// other's way by using their own device ids and firmware versions. The Orleans client in the test process stands in
/// for the gateway where a test needs device-side events (telemetry, command acknowledgements, firmware progress).
/// </summary>
public sealed class ManagementApiFixture : IAsyncLifetime
{
    public const string ApiKey = ClusterSettings.TestApiKey;
    public const string CoapsServer = "coaps://coap.test.example:5684";

    /// <summary>Small on purpose, so the 413 test needs no large upload.</summary>
    public const int MaxFirmwareBytes = 64 * 1024;

    private readonly PlatformServersFixture _servers = new();

    public ProductionSilo Platform { get; private set; } = null!;

    public SiloProcess Silo => Platform.Silo;

    public IClusterClient Grains => Platform.Grains;

    public async Task InitializeAsync()
    {
        await _servers.InitializeAsync();
        Platform = await ProductionSilo.StartAsync(_servers, new Dictionary<string, string?>
        {
            ["ManagementApi:ApiKeys:0"] = ApiKey,
            ["ManagementApi:CoapsServerUri"] = CoapsServer,
            ["ManagementApi:MaxFirmwareBytes"] = MaxFirmwareBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    public async Task DisposeAsync()
    {
        if (Platform is not null)
        {
            await Platform.DisposeAsync();
        }
        await _servers.DisposeAsync();
    }

    /// <summary>A client of the silo's HTTP port, sending <paramref name="apiKey"/> as the bearer key (none when null).</summary>
    public HttpClient Http(string? apiKey = ApiKey)
    {
        var http = new HttpClient { BaseAddress = Silo.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        return http;
    }
}

[CollectionDefinition(Name)]
public sealed class ManagementApiCollection : ICollectionFixture<ManagementApiFixture>
{
    public const string Name = "management api";
}
