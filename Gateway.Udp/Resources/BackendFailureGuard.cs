using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace NHub.Gateway.Resources;

/// <summary>
/// Wraps every resource: a grain call that fails (its storage is down, no silo answers, the call timed out) is not
/// the device's fault and not a bug to report as 5.00, so the device gets 5.03 Service Unavailable with Max-Age
/// (<see cref="GatewayOptions.UnavailableRetryAfter"/>; RFC 7252 §5.9.3.4) and retries. Failures are counted by
/// exception type; the log gets the first of each type and then one line per type every
/// <see cref="LogInterval"/> with how many were suppressed, so an outage does not write a line per request.
/// </summary>
public sealed partial class BackendFailureGuard(GatewayOptions options, IMeterFactory meters, TimeProvider time, ILogger<BackendFailureGuard> logger)
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private sealed class LogState
    {
        public long NextLogAt;
        public long Suppressed;
    }

    private readonly Counter<long> _failures = meters.Create("NHub").CreateCounter<long>("nhub.coap.backend_failures", "{request}",
        "Requests answered 5.03 because a grain call failed, by exception type");
    private readonly ConcurrentDictionary<Type, LogState> _logStates = new();
    private readonly uint _maxAge = (uint)options.UnavailableRetryAfter.TotalSeconds;

    public CoapHandler<PeerInfo> Wrap(CoapHandler<PeerInfo> handler) => async ctx =>
    {
        try
        {
            return await handler(ctx);
        }
        catch (Exception ex)
        {
            return Unavailable(ctx, ex);
        }
    };

    private CoapResponse Unavailable(CoapRequestContext<PeerInfo> ctx, Exception ex)
    {
        var type = ex.GetType();
        _failures.Add(1, new KeyValuePair<string, object?>("exception", type.Name));
        var state = _logStates.GetOrAdd(type, _ => new LogState());
        var now = time.GetTimestamp();
        var due = Interlocked.Read(ref state.NextLogAt);
        if (now >= due && Interlocked.CompareExchange(ref state.NextLogAt, now + (long)(LogInterval.TotalSeconds * time.TimestampFrequency), due) == due)
        {
            LogBackendFailure(logger, ex, ctx.Request.GetUriPath(), ctx.Peer.EndPoint, Interlocked.Exchange(ref state.Suppressed, 0));
        }
        else
        {
            Interlocked.Increment(ref state.Suppressed);
        }
        var response = CoapResponse.Text(CoapCode.ServiceUnavailable, "backend unavailable, retry after Max-Age");
        response.MaxAge = _maxAge;
        return response;
    }

    [LoggerMessage(EventId = 5010, Level = LogLevel.Warning,
        Message = "CoAP request for {Path} from {Peer} answered 5.03: the backend failed ({Suppressed} more such failures since the last line)")]
    private static partial void LogBackendFailure(ILogger logger, Exception ex, string path, System.Net.IPEndPoint peer, long suppressed);
}
