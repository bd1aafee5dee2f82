using System.Threading.Channels;

namespace NHub.Grains.Tests;

/// <summary>
/// A gateway process as grains reach it: an <see cref="IGatewayObserver"/> on the test cluster's client, attached to
/// the <see cref="IGatewayGrain"/> of <see cref="Id"/>, recording what is pushed to it. Pushes are direct messages
/// (no stream agent, no timer), so the tests wait on them without moving the clock.
/// </summary>
public sealed class TestGateway : IGatewayObserver, IAsyncDisposable
{
    public static readonly TimeSpan RefreshPeriod = TimeSpan.FromSeconds(15);

    private readonly GrainsClusterFixture _cluster;
    private readonly Channel<DownlinkCommands> _commands = Channel.CreateUnbounded<DownlinkCommands>();
    private readonly Channel<DtlsSessionMoved> _moved = Channel.CreateUnbounded<DtlsSessionMoved>();
    private IGatewayObserver? _reference;

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
    public Task RefreshAsync()
    {
        _reference ??= _cluster.Client.CreateObjectReference<IGatewayObserver>(this);
        return Grain.Attach(_reference, RefreshPeriod);
    }

    /// <summary>The next commands pushed here; fails after 5 s.</summary>
    public Task<DownlinkCommands> NextCommandsAsync() => _commands.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));

    /// <summary>The next moved notice; fails after 5 s.</summary>
    public Task<DtlsSessionMoved> NextMovedAsync() => _moved.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));

    Task IGatewayObserver.Commands(DownlinkCommands downlink)
    {
        _commands.Writer.TryWrite(downlink);
        return Task.CompletedTask;
    }

    Task IGatewayObserver.SessionMoved(DtlsSessionMoved moved)
    {
        _moved.Writer.TryWrite(moved);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await Grain.Detach();
        if (_reference is not null)
        {
            _cluster.Client.DeleteObjectReference<IGatewayObserver>(_reference);
        }
    }
}
