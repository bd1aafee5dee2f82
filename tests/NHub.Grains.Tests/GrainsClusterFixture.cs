using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using NHub.Grains.Embedded;
using NHub.Grains.Services;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;

namespace NHub.Grains.Tests;

/// <summary>
/// One in-process Orleans cluster (one silo, in-process membership and transport) for the whole project: memory grain
/// storage, memory streams and in-memory reminders, the grains' real dependencies in their embedded implementations
/// (<see cref="InMemoryDeviceRegistry"/>, <see cref="InMemoryFirmwareRepository"/>, <see cref="CredentialProtector"/>),
/// and a <see cref="FakeTimeProvider"/> as the silo's <see cref="TimeProvider"/>, which the tests advance instead of
/// waiting. Orleans 10's grain timers and the in-memory reminder service schedule through the
/// <see cref="TimeProvider"/> in DI, so advancing the fake clock fires them (ConnectivityTests prove it).
/// </summary>
public sealed class GrainsClusterFixture : IAsyncLifetime
{
    /// <summary>The inactivity window: any value works, the clock is fake.</summary>
    public static readonly TimeSpan OfflineAfter = TimeSpan.FromMinutes(15);

    /// <summary>The durable offline-watch reminder's period (DeviceOptions.OfflineCheckPeriod).</summary>
    public static readonly TimeSpan OfflineCheckPeriod = TimeSpan.FromMinutes(5);

    public const int RecentTelemetryCapacity = 5;

    /// <summary>Small, so the cap is reached in a test; only AutoProvisioningTests auto-provision.</summary>
    public const int AutoProvisionMaxDevices = 2;

    private InProcessTestCluster? _cluster;

    /// <summary>The silo's clock. Starts at a fixed instant so timestamps in assertions are exact.</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    public RecordingDeviceEventPublisher Events { get; } = new();

    /// <summary>What the twins asked the session table to erase (the table itself is PostgreSQL's, tested in the integration group).</summary>
    public RecordingDtlsSessionEraser SessionTable { get; } = new();

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not deployed");

    public IGrainFactory Grains => Cluster.Client;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSiloHost((_, host) =>
        {
            var services = host.Services;
            services.AddSingleton<TimeProvider>(Time);
            services.AddOptions<DeviceOptions>().Configure(o =>
            {
                o.OfflineAfter = OfflineAfter;
                o.OfflineCheckPeriod = OfflineCheckPeriod;
                o.RecentTelemetryCapacity = RecentTelemetryCapacity;
                o.MaxPendingCommands = 3;
            });
            services.AddOptions<CredentialOptions>();
            services.AddOptions<AutoProvisionOptions>().Configure(o => o.AutoProvisionMaxDevices = AutoProvisionMaxDevices);
            services.AddSingleton(new CredentialProtector(RandomNumberGenerator.GetBytes(32)));
            services.AddSingleton<IDeviceRegistry, InMemoryDeviceRegistry>();
            services.AddSingleton<IFirmwareRepository, InMemoryFirmwareRepository>();
            services.AddSingleton<IDtlsSessionEraser>(SessionTable);
            services.AddSingleton<ITelemetryPublisher, DeduplicatingTelemetryPublisher>();
            services.AddSingleton<IDeviceEventPublisher>(Events);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(GrainStorageNames.Default);
            silo.AddMemoryGrainStorage(GrainStorageNames.PubSub);
            silo.UseInMemoryReminderService();
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromMinutes(1));
            silo.AddMemoryStreams(PlatformStreams.ProviderName);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(PlatformStreams.ProviderName));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>
    /// Completes with <paramref name="delivered"/>, moving the fake clock on by the memory streams' pull period until it
    /// does. Stream delivery to subscribers is pulled by Orleans' pulling agent on a grain timer, which follows the fake
    /// clock like every other timer: nothing arrives unless time moves. Each step gives the tick it caused a short
    /// real-time bound to run; the loop waits on the delivery, never on time passing, and fails after a bounded
    /// number of steps.
    /// </summary>
    public async Task<T> AdvanceUntilAsync<T>(Task<T> delivered, int maxSteps = 200)
    {
        for (var step = 0; step < maxSteps && !delivered.IsCompleted; step++)
        {
            Time.Advance(StreamPullPeriod);
            await Task.WhenAny(delivered, delivered.WaitAsync(TimeSpan.FromMilliseconds(25)));
        }
        return await delivered.WaitAsync(TimeSpan.FromSeconds(1));
    }

    /// <summary>Orleans' default StreamPullingAgentOptions.GetQueueMsgsTimerPeriod.</summary>
    private static readonly TimeSpan StreamPullPeriod = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// What the silo's grain storage holds for <paramref name="grain"/> under <paramref name="stateName"/> (the
    /// PersistentState name), read past the activation: null when nothing is stored.
    /// </summary>
    public async Task<T?> ReadStoredStateAsync<T>(string stateName, IAddressable grain) where T : class, new()
    {
        var storage = Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorageNames.Default);
        var stored = new GrainState<T>();
        await storage.ReadStateAsync(stateName, grain.GetGrainId(), stored);
        return stored.RecordExists ? stored.State : null;
    }

    /// <summary>Writes <paramref name="value"/> as the stored state of a grain that is not active (it reads it at activation).</summary>
    public async Task WriteStoredStateAsync<T>(string stateName, IAddressable grain, T value) where T : class, new()
    {
        var storage = Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorageNames.Default);
        await storage.WriteStateAsync(stateName, grain.GetGrainId(), new GrainState<T>(value));
    }

    /// <summary>Provisions a device with a plain record and returns its grain.</summary>
    public async Task<IDeviceGrain> ProvisionAsync(string deviceId)
    {
        var device = Grains.GetGrain<IDeviceGrain>(deviceId);
        await device.Provision(new DeviceRecord(deviceId, "KM-3", "SN-" + deviceId, "869181070000001", null));
        return device;
    }
}

[CollectionDefinition(Name)]
public sealed class GrainsCluster : ICollectionFixture<GrainsClusterFixture>
{
    public const string Name = "grains cluster";
}
