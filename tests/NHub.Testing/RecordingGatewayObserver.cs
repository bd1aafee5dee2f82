using System.Threading.Channels;
using NHub.Grains;

namespace NHub.Testing;

/// <summary>A gateway as the grains see it (an <see cref="IGatewayObserver"/> on a test client), recording what is pushed to it.</summary>
public sealed class RecordingGatewayObserver : IGatewayObserver
{
    private readonly Channel<DownlinkCommands> _commands = Channel.CreateUnbounded<DownlinkCommands>();
    private readonly Channel<DtlsSessionMoved> _moved = Channel.CreateUnbounded<DtlsSessionMoved>();

    /// <summary>Attaches a new observer to <paramref name="gatewayId"/>'s gateway grain through <paramref name="client"/>.</summary>
    public static async Task<RecordingGatewayObserver> AttachAsync(IClusterClient client, Guid gatewayId)
    {
        var observer = new RecordingGatewayObserver();
        await client.GetGrain<IGatewayGrain>(gatewayId).Attach(observer.ReferenceFor(client), TimeSpan.FromSeconds(15));
        return observer;
    }

    private IGatewayObserver? _reference;

    /// <summary>This observer's reference on <paramref name="client"/> (created once; Orleans holds the object weakly, the caller holds this).</summary>
    public IGatewayObserver ReferenceFor(IClusterClient client) => _reference ??= client.CreateObjectReference<IGatewayObserver>(this);

    public Task<DownlinkCommands> NextCommandsAsync(TimeSpan timeout) => _commands.Reader.ReadAsync().AsTask().WaitAsync(timeout);

    public Task<DtlsSessionMoved> NextMovedAsync(TimeSpan timeout) => _moved.Reader.ReadAsync().AsTask().WaitAsync(timeout);

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
}
