using NHub.Testing;

namespace NHub.Grains.Tests;

/// <summary>
/// A gateway process as grains reach it: a <see cref="RecordingGatewayObserver"/> on the test cluster's client,
/// attached to the <see cref="IGatewayGrain"/> of <see cref="Id"/>. Pushes are direct messages (no stream agent, no
/// timer), so the tests wait on them without moving the clock.
/// </summary>
public sealed class TestGateway : IAsyncDisposable
{
    public static readonly TimeSpan RefreshPeriod = TimeSpan.FromSeconds(15);

    private readonly GrainsClusterFixture _cluster;
    private readonly RecordingGatewayObserver _observer = new();

    private TestGateway(GrainsClusterFixture cluster, Guid id)
    {
        _cluster = cluster;
        Id = id;
    }

    public Guid Id { get; }

    public IGatewayGrain Grain => _cluster.Grains.GetGrain<IGatewayGrain>(Id);

    public static async Task<TestGateway> AttachAsync(GrainsClusterFixture cluster, Guid? id = null)
    {
        var gateway = new TestGateway(cluster, id ?? Guid.NewGuid());
        await gateway.RefreshAsync();
        return gateway;
    }

    /// <summary>Attaches (the first time) or refreshes, as the gateway does every status period.</summary>
    public Task RefreshAsync() => Grain.Attach(_observer.ReferenceFor(_cluster.Client), RefreshPeriod);

    /// <summary>The next commands pushed here; fails after 5 s.</summary>
    public Task<DownlinkCommands> NextCommandsAsync() => _observer.NextCommandsAsync(TimeSpan.FromSeconds(5));

    /// <summary>The next moved notice; fails after 5 s.</summary>
    public Task<DtlsSessionMoved> NextMovedAsync() => _observer.NextMovedAsync(TimeSpan.FromSeconds(5));

    public async ValueTask DisposeAsync()
    {
        await Grain.Detach();
        _cluster.Client.DeleteObjectReference<IGatewayObserver>(_observer.ReferenceFor(_cluster.Client));
    }
}
