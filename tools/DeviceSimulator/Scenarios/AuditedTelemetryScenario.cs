using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using NHub.Coap;
using NHub.DeviceSimulator.Devices;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// telemetry-audit: devices that behave like meters which must not lose a reading, for the fault harness
/// (bench/faults.sh). Each device POSTs numbered readings (<c>{"seq":N,"device":"id"}</c>, one CON at a time) and
/// keeps a reading until it gets 2.01:
/// <list type="bullet">
/// <item>no answer within --timeout: the same datagram again (same Message ID and token), up to --retransmits
/// times (RFC 7252 §4.2; the timeout is fixed, not doubled, so that recovery is seen at once);</item>
/// <item>still no answer, an RST or a failed session: the device reconnects (new socket, full DTLS handshake,
/// retried every --reconnect-backoff) and sends the reading again as a new request;</item>
/// <item>an error code (5.03 with Max-Age, 4.29, …): the reading again as a new request after --retry-after (capped
/// below Max-Age on purpose, to see when the platform is back).</item>
/// </list>
/// Every acknowledged reading is written to --acked FILE (device, seq, when the 2.01 came, how many requests it
/// took); <c>stream-audit</c> compares that list with what JetStream holds.
/// </summary>
internal sealed class AuditedTelemetryScenario : IScenario
{
    private readonly ConcurrentQueue<AckedReading> _acked = new();
    private string _path = "/telemetry";
    private long _retransmissions;
    private long _retries;
    private long _unacked;

    public string Unit => "readings";

    public Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        _path = context.Options.Target.AbsolutePath;
        return context.ConnectAllAsync(progress, ct);
    }

    public Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct) =>
        Task.WhenAll(context.Devices.ToArray().Select(d => RunDeviceAsync(context, d, deadlineTimestamp, ct)));

    private async Task RunDeviceAsync(RunContext context, SimDevice device, long deadline, CancellationToken ct)
    {
        var options = context.Options;
        var deviceId = device.DeviceId;
        SimDevice? current = device;
        for (long seq = 0; current is not null && Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested; seq++)
        {
            var payload = Encoding.UTF8.GetBytes($"{{\"seq\":{seq},\"device\":\"{deviceId}\"}}");
            var requests = 0;
            var acked = false;
            while (!acked && current is not null && Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
            {
                current.NewTelemetryRequest(_path, payload);
                requests++;
                if (requests > 1)
                {
                    Interlocked.Increment(ref _retries);
                }
                var started = Stopwatch.GetTimestamp();
                var reply = await current.SendAsync().ConfigureAwait(false);
                for (var n = 0; reply.Status == ReplyStatus.Timeout && n < options.Retransmits && !current.IsClosed; n++)
                {
                    Interlocked.Increment(ref _retransmissions);
                    reply = await current.RetransmitAsync().ConfigureAwait(false);
                }
                context.Record(reply, started);
                if (reply.Status == ReplyStatus.Response && reply.Code == CoapCode.Created)
                {
                    acked = true;
                    _acked.Enqueue(new AckedReading(deviceId, seq, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), requests));
                }
                else if (reply.Status == ReplyStatus.Response)
                {
                    await QuietDelay.WaitAsync(options.RetryAfter, ct).ConfigureAwait(false);
                }
                else
                {
                    current = await context.ReconnectAsync(current, options.ReconnectBackoff, deadline, ct).ConfigureAwait(false);
                }
            }
            if (!acked)
            {
                Interlocked.Increment(ref _unacked);
            }
        }
    }

    public long Count(RunContext context) => _acked.Count;

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
        var acked = _acked.ToArray();
        var gap = LongestGap(acked);
        result["audit"] = new JsonObject
        {
            ["acked"] = acked.Length,
            ["acked_after_retry"] = acked.Count(a => a.Requests > 1),
            ["unacked_at_end"] = Interlocked.Read(ref _unacked),
            ["retransmissions"] = Interlocked.Read(ref _retransmissions),
            ["retries"] = Interlocked.Read(ref _retries),
            ["reconnects"] = context.Reconnects,
            ["longest_gap_ms"] = gap.Length,
            ["longest_gap_from_unix_ms"] = gap.From,
            ["longest_gap_to_unix_ms"] = gap.To,
        };
        summary.Add($"  audit: {acked.Length} readings acknowledged ({acked.Count(a => a.Requests > 1)} after a retry), {Interlocked.Read(ref _unacked)} unacknowledged at the end; "
            + $"{Interlocked.Read(ref _retransmissions)} retransmissions, {Interlocked.Read(ref _retries)} retries, {context.Reconnects} reconnects; longest time without a 2.01: {gap.Length} ms");
        if (context.Options.AckedFile is { } file)
        {
            using var writer = new StreamWriter(file, append: false, Encoding.ASCII);
            writer.WriteLine("device_id,seq,acked_unix_ms,requests");
            foreach (var a in acked.OrderBy(a => a.AckedUnixMs))
            {
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{a.DeviceId},{a.Seq},{a.AckedUnixMs},{a.Requests}"));
            }
            summary.Add($"  acknowledged readings written to {file}");
        }
    }

    /// <summary>The longest stretch of the run in which no device got a 2.01 (the outage a fault caused).</summary>
    private static (long Length, long From, long To) LongestGap(AckedReading[] acked)
    {
        var times = acked.Select(a => a.AckedUnixMs).Order().ToArray();
        (long Length, long From, long To) best = (0, 0, 0);
        for (var i = 1; i < times.Length; i++)
        {
            if (times[i] - times[i - 1] > best.Length)
            {
                best = (times[i] - times[i - 1], times[i - 1], times[i]);
            }
        }
        return best;
    }

    private readonly record struct AckedReading(string DeviceId, long Seq, long AckedUnixMs, int Requests);
}
