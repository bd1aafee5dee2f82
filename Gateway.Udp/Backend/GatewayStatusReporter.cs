using NHub.Gateway.Resources;
using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Backend;

/// <summary>
/// Reports this gateway's session counts to <see cref="IGatewayDirectoryGrain"/> every
/// <see cref="GatewayOptions.StatusReportPeriod"/>: one small grain call per period, counters read without locks
/// beyond the transports' own. A failed report is logged at Debug and retried at the next period.
/// </summary>
public sealed partial class GatewayStatusReporter(
    IClusterClient cluster,
    GatewayIdentity identity,
    GatewayOptions options,
    CoapEndpoints endpoints,
    TimeProvider time,
    ILogger<GatewayStatusReporter> logger) : BackgroundService
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    /// <summary>The report as of now.</summary>
    public GatewayStatus Snapshot()
    {
        var sessions = 0;
        var connectionIdSessions = 0;
        var relations = 0;
        var bound = new List<string>(endpoints.All.Count);
        foreach (var endpoint in endpoints.All)
        {
            relations += endpoint.Server.Observers.Count;
            if (endpoint.Transport is DtlsTransport dtls)
            {
                sessions += dtls.SessionCount;
                connectionIdSessions += dtls.ConnectionIdSessionCount;
            }
            var scheme = endpoint.Transport.Kind.Scheme();
            switch (endpoint.Transport)
            {
                case Transport.Tcp.StreamTransport stream:
                    sessions += stream.ConnectionCount;
                    break;
                case Transport.WebSockets.WebSocketTransport ws:
                    sessions += ws.ConnectionCount;
                    bound.Add($"coap+ws {Transport.WebSockets.WebSocketTransport.Path}");
                    continue;
            }
            bound.Add($"{scheme} {endpoint.Transport.LocalEndPoint}");
        }
        return new GatewayStatus(identity.Id, Environment.MachineName, _startedAt, sessions, connectionIdSessions, relations, bound, options.StatusReportPeriod);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var directory = cluster.GetGrain<IGatewayDirectoryGrain>(0);
        using var timer = new PeriodicTimer(options.StatusReportPeriod, time);
        do
        {
            try
            {
                // A host with CoAP off (a silo in a split deployment) is not a gateway: it does not report.
                if (endpoints.All.Count > 0)
                {
                    await directory.Report(Snapshot());
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogReportFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await cluster.GetGrain<IGatewayDirectoryGrain>(0).Leave(identity.Id).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex)
        {
            // The directory shows the gateway down after three missed reports instead.
            LogReportFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 5190, Level = LogLevel.Debug, Message = "Gateway status report to the directory failed")]
    private static partial void LogReportFailed(ILogger logger, Exception ex);
}
