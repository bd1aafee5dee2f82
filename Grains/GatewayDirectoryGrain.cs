namespace NHub.Grains;

/// <summary>
/// The gateways' latest reports, in memory (see <see cref="IGatewayDirectoryGrain"/>). A report is a few hundred bytes
/// every few seconds per gateway: nothing is persisted, the next round of reports rebuilds the list.
/// </summary>
public sealed class GatewayDirectoryGrain(TimeProvider time) : Grain, IGatewayDirectoryGrain
{
    /// <summary>A gateway missing this many report periods is shown down.</summary>
    public const int MissedReportsBeforeDown = 3;

    /// <summary>A gateway silent this long is dropped from the list.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromHours(1);

    private readonly Dictionary<Guid, (GatewayStatus Status, DateTimeOffset At)> _gateways = [];

    public Task Report(GatewayStatus status)
    {
        _gateways[status.GatewayId] = (status, time.GetUtcNow());
        return Task.CompletedTask;
    }

    public Task Leave(Guid gatewayId)
    {
        _gateways.Remove(gatewayId);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<GatewayEntry>> List()
    {
        var now = time.GetUtcNow();
        var list = new List<GatewayEntry>(_gateways.Count);
        foreach (var (id, (status, at)) in _gateways.ToList())
        {
            if (now - at > ForgetAfter)
            {
                _gateways.Remove(id);
                continue;
            }
            list.Add(new GatewayEntry(status, at, now - at <= status.ReportPeriod * MissedReportsBeforeDown));
        }
        list.Sort((a, b) => a.Up != b.Up ? (a.Up ? -1 : 1) : string.CompareOrdinal(a.Status.Host, b.Status.Host));
        return Task.FromResult<IReadOnlyList<GatewayEntry>>(list);
    }
}
