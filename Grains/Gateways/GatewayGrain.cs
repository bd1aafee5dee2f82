using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace NHub.Grains.Gateways;

/// <summary>
/// One gateway process as grains reach it (see <see cref="IGatewayGrain"/>). Its observer reference is persisted when
/// it changes (once per gateway start), so a push right after this grain's silo restarted still finds the gateway;
/// refreshes are kept in memory. Reentrant: a push only starts a one-way message, nothing here waits on the gateway.
/// </summary>
[Reentrant]
public sealed partial class GatewayGrain(
    [PersistentState("gateway", GrainStorageNames.Default)] IPersistentState<GatewayGrainState> state,
    TimeProvider time,
    ILogger<GatewayGrain> logger) : Grain, IGatewayGrain
{
    /// <summary>A gateway that missed this many refreshes is treated as gone: pushes report false, commands stay queued.</summary>
    public const int MissedRefreshesBeforeGone = 3;

    private DateTimeOffset _refreshedAt;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // After a restart of this grain's silo the gateway's next refresh is up to one period away: give it that.
        _refreshedAt = time.GetUtcNow();
        return Task.CompletedTask;
    }

    public async Task Attach(IGatewayObserver observer, TimeSpan refreshPeriod)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (refreshPeriod <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(refreshPeriod), "The refresh period must be positive");
        }
        _refreshedAt = time.GetUtcNow();
        if (Equals(state.State.Observer, observer) && state.State.RefreshPeriod == refreshPeriod)
        {
            return;
        }
        state.State.Observer = observer;
        state.State.RefreshPeriod = refreshPeriod;
        state.State.AttachedAt = _refreshedAt;
        await state.WriteStateAsync();
        LogAttached(logger, this.GetPrimaryKey());
    }

    public async Task Detach()
    {
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }
        state.State = new GatewayGrainState();
        DeactivateOnIdle();
    }

    public Task<bool> PushCommands(DownlinkCommands downlink)
    {
        ArgumentNullException.ThrowIfNull(downlink);
        if (Reachable() is not { } observer)
        {
            return Task.FromResult(false);
        }
        _ = observer.Commands(downlink);
        return Task.FromResult(true);
    }

    public Task<bool> SessionMoved(DtlsSessionMoved moved)
    {
        ArgumentNullException.ThrowIfNull(moved);
        if (Reachable() is not { } observer)
        {
            return Task.FromResult(false);
        }
        _ = observer.SessionMoved(moved);
        return Task.FromResult(true);
    }

    /// <summary>The attached observer, unless the gateway stopped refreshing it (killed, or cut off from the cluster).</summary>
    private IGatewayObserver? Reachable()
    {
        if (state.State.Observer is not { } observer)
        {
            return null;
        }
        return time.GetUtcNow() - _refreshedAt <= state.State.RefreshPeriod * MissedRefreshesBeforeGone ? observer : null;
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Gateway {GatewayId} attached")]
    private static partial void LogAttached(ILogger logger, Guid gatewayId);
}
