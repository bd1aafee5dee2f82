using NHub.Gateway.Resources;

namespace NHub.Gateway.Backend;

/// <summary>
/// Attaches this process's <see cref="GatewayObserver"/> to its <see cref="IGatewayGrain"/> at start (before the
/// gateway's first Observe registration can name it), again every <see cref="GatewayOptions.StatusReportPeriod"/>
/// (a grain that missed three refreshes treats the gateway as gone), and detaches it when the host stops.
/// </summary>
public sealed partial class GatewayAttachment(
    IClusterClient cluster,
    GatewayIdentity identity,
    GatewayOptions options,
    GatewayObserver observer,
    TimeProvider time,
    ILogger<GatewayAttachment> logger) : IHostedService, IAsyncDisposable
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

    public async Task StopAsync(CancellationToken cancellationToken)
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
        if (_reference is not null)
        {
            cluster.DeleteObjectReference<IGatewayObserver>(_reference);
            _reference = null;
        }
    }

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
