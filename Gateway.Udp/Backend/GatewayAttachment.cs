using NHub.Gateway.Resources;

namespace NHub.Gateway.Backend;

/// <summary>
/// Attaches this process's <see cref="GatewayObserver"/> to its <see cref="IGatewayGrain"/> at start (registered
/// before the CoAP sockets open, so no Observe registration can name a gateway nobody reaches), again every
/// <see cref="GatewayOptions.StatusReportPeriod"/> (a grain that missed three refreshes treats the gateway as gone),
/// and detaches it as soon as the host begins to stop (<see cref="StoppingAsync"/>, before any service stops): a push
/// arriving while the gateway hands its sessions and relations back would find no relation, and its "not observing
/// here" would end the relation the next gateway is about to resume. Detached, the twin keeps such commands queued.
/// </summary>
public sealed partial class GatewayAttachment(
    IClusterClient cluster,
    GatewayIdentity identity,
    GatewayOptions options,
    GatewayObserver observer,
    TimeProvider time,
    ILogger<GatewayAttachment> logger) : IHostedLifecycleService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private IGatewayObserver? _reference;
    private Task? _refreshing;

    private IGatewayGrain Grain => cluster.GetGrain<IGatewayGrain>(identity.Id);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Orleans holds the observer object weakly; it is a singleton of this host, so it lives as long as the host.
        _reference = cluster.CreateObjectReference<IGatewayObserver>(observer);
        await Grain.Attach(_reference, options.StatusReportPeriod).WaitAsync(cancellationToken);
        _refreshing = RefreshAsync(_reference, _stopping.Token);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_refreshing is not null)
        {
            await _refreshing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        try
        {
            await Grain.Detach().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex)
        {
            // The grain treats the gateway as gone after three missed refreshes instead.
            LogAttachFailed(logger, ex, "detach");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_reference is not null)
        {
            cluster.DeleteObjectReference<IGatewayObserver>(_reference);
            _reference = null;
        }
        return Task.CompletedTask;
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task RefreshAsync(IGatewayObserver reference, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(options.StatusReportPeriod, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                try
                {
                    await Grain.Attach(reference, options.StatusReportPeriod);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogAttachFailed(logger, ex, "refresh");
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 5191, Level = LogLevel.Warning, Message = "Gateway observer {Operation} failed; retried at the next status period")]
    private static partial void LogAttachFailed(ILogger logger, Exception ex, string operation);
}
