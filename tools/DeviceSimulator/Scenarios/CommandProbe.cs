using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using NHub.DeviceSimulator.Devices;
using NHub.DeviceSimulator.Metrics;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// One batch of commands posted through the REST API, one to each device of a sample, and what became of them: each
/// carries a sequence number in <c>params.seq</c> (numbers of all batches are distinct); the first notification
/// carrying it counts it delivered (with its latency from the POST), the same command again in a notification with
/// the same Message ID is a CoAP retransmission (a device de-duplicates it, RFC 7252 §4.5), in another notification
/// a second delivery. Counted per gateway node of the device.
/// </summary>
internal sealed class CommandProbe(string name)
{
    private static long s_sequence;
    private readonly ConcurrentDictionary<long, long> _inFlight = new(); // seq -> when posted
    private readonly ConcurrentDictionary<long, ushort> _seen = new(); // seq -> Message ID of its first notification
    private readonly LatencyHistogram _latency = new();
    private readonly ConcurrentDictionary<string, LatencyHistogram> _latencyByNode = new();
    private readonly OutcomeCounter _byNode = new();
    private readonly OutcomeCounter _postFailures = new();
    private long _posted;
    private long _delivered;
    private long _twice;
    private long _repeated;

    public string Name { get; } = name;

    public bool Started { get; private set; }

    /// <summary>Posts one command to each of <paramref name="sample"/> devices spread over <paramref name="devices"/> (every (N/K)-th).</summary>
    public async Task PostAsync(RunContext context, SimDevice[] devices, int sample, CancellationToken ct)
    {
        Started = true;
        sample = Math.Min(sample, devices.Length);
        var step = devices.Length / Math.Max(1, sample);
        await Parallel.ForEachAsync(Enumerable.Range(0, sample), new ParallelOptions { MaxDegreeOfParallelism = context.Options.CommandConcurrency, CancellationToken = ct },
            async (n, token) =>
            {
                var seq = Interlocked.Increment(ref s_sequence);
                _inFlight[seq] = Stopwatch.GetTimestamp();
                try
                {
                    var status = await context.Api!.PostCommandAsync(devices[n * step].DeviceId, "sim_ping", new { seq }, token).ConfigureAwait(false);
                    if (status == HttpStatusCode.Accepted)
                    {
                        Interlocked.Increment(ref _posted);
                    }
                    else
                    {
                        _inFlight.TryRemove(seq, out _);
                        _postFailures.Add("http_" + (int)status);
                    }
                }
                catch (HttpRequestException ex)
                {
                    _inFlight.TryRemove(seq, out _);
                    _postFailures.Add("http_error_" + (ex.StatusCode is { } s ? (int)s : 0));
                }
                catch (Exception ex) when (ex is TaskCanceledException or IOException && !token.IsCancellationRequested)
                {
                    // the HTTP client's own timeout, or the connection broken: a failed POST, not the end of the run
                    _inFlight.TryRemove(seq, out _);
                    _postFailures.Add("http_" + ex.GetType().Name);
                }
            }).ConfigureAwait(false);
    }

    /// <summary>A command of sequence <paramref name="seq"/> in a notification; false when it is not one of this batch.</summary>
    public bool OnCommand(long seq, ushort messageId, string node)
    {
        if (_inFlight.TryRemove(seq, out var posted))
        {
            var micros = (long)Stopwatch.GetElapsedTime(posted).TotalMicroseconds;
            _latency.Record(micros);
            _latencyByNode.GetOrAdd(node, _ => new LatencyHistogram()).Record(micros);
            _seen[seq] = messageId;
            Interlocked.Increment(ref _delivered);
            _byNode.Add("node_" + node + "_delivered");
            return true;
        }
        if (!_seen.TryGetValue(seq, out var first))
        {
            return false;
        }
        if (first == messageId)
        {
            Interlocked.Increment(ref _repeated);
            _byNode.Add("node_" + node + "_repeated");
        }
        else
        {
            Interlocked.Increment(ref _twice);
            _byNode.Add("node_" + node + "_twice");
        }
        return true;
    }

    public JsonObject Report(List<string> summary)
    {
        var missing = _inFlight.Count;
        summary.Add($"  commands {Name}: posted {_posted}, delivered {_delivered}, not delivered {missing}, twice {_twice}, notification retransmissions "
            + $"received {_repeated}; latency (POST to notification) ms p50 {_latency.QuantileMs(0.5):F0} p99 {_latency.QuantileMs(0.99):F0} max {_latency.MaxMs:F0}");
        return new JsonObject
        {
            ["posted"] = Interlocked.Read(ref _posted),
            ["delivered"] = Interlocked.Read(ref _delivered),
            ["duplicates"] = Interlocked.Read(ref _twice),
            ["repeated_notifications"] = Interlocked.Read(ref _repeated),
            ["not_delivered"] = missing,
            ["by_node"] = new JsonObject(_byNode.Snapshot().Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
            ["latency_ms"] = new JsonObject(_latency.Summary().Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
            ["latency_ms_by_node"] = new JsonObject(_latencyByNode.OrderBy(p => p.Key).Select(p => KeyValuePair.Create("node_" + p.Key,
                (JsonNode?)new JsonObject(p.Value.Summary().Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value)))))),
            ["post_failures"] = new JsonObject(_postFailures.Snapshot().Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
        };
    }
}
