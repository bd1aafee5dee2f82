using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using NHub.Coap;
using NHub.DeviceSimulator.Devices;
using NHub.DeviceSimulator.Metrics;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// device-flood: one authenticated device misbehaves — NON telemetry open-loop at --rate per second on one DTLS
/// session, answers not awaited — while three probes measure what it costs (issue #18, finding 2):
/// <list type="bullet">
/// <item>the same device in a second session: one CON telemetry POST every 100 ms (its own twin must stay usable);</item>
/// <item>another device (the second credential), the same way;</item>
/// <item>the management API's view of the flooding device: GET devices/{id} every 100 ms (--api, --api-key).</item>
/// </list>
/// The flood's answers are counted by code (4.29 is the bound at work). With --server-pid, the server's RSS.
/// </summary>
internal sealed class DeviceFloodScenario : IScenario
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(100);
    private readonly OutcomeCounter _floodAnswers = new();
    private readonly Probe _sameDevice = new();
    private readonly Probe _otherDevice = new();
    private readonly Probe _api = new();
    private SimDevice? _flooder;
    private SimDevice? _second;
    private SimDevice? _other;
    private long _sent;

    public string Unit => "NON sent";

    private sealed class Probe
    {
        public LatencyHistogram Latency { get; } = new();
        public OutcomeCounter Outcomes { get; } = new();
    }

    public async Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        if (context.Credentials.Count < 2 || context.Api is null)
        {
            throw new ArgumentException("device-flood needs two credentials (--credentials FILE --devices 2) and --api with --api-key");
        }
        _flooder = await ConnectAsync(context, 0);
        _second = await ConnectAsync(context, 0);
        _other = await ConnectAsync(context, 1);
        _flooder.UnmatchedResponse = code => _floodAnswers.Add(code);
        context.StartTimeoutSweeper();
        progress("three sessions up");
    }

    private static async Task<SimDevice> ConnectAsync(RunContext context, int credential)
    {
        var device = context.NewDevice(credential);
        return await context.TryConnectAsync(device) ? device : throw new IOException($"handshake of {device.DeviceId} failed");
    }

    public Task RunAsync(RunContext context, long deadline, CancellationToken ct) => Task.WhenAll(
        FloodAsync(context, deadline, ct),
        DeviceProbeAsync(context, _second!, _sameDevice, deadline, ct),
        DeviceProbeAsync(context, _other!, _otherDevice, deadline, ct),
        ApiProbeAsync(context, deadline, ct));

    private async Task FloodAsync(RunContext context, long deadline, CancellationToken ct)
    {
        var device = _flooder!;
        var rate = context.Options.Rate > 0 ? context.Options.Rate : 5000;
        var path = context.Options.Target.AbsolutePath;
        var started = Stopwatch.GetTimestamp();
        long n = 0;
        while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
        {
            // Open loop: as many as the clock says are due, whatever the answers.
            var due = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * rate);
            for (; n < due; n++)
            {
                device.NewTelemetryRequest(path, Encoding.UTF8.GetBytes($"{{\"flood\":{n}}}")).Type = CoapMessageType.NonConfirmable;
                if (device.SendOnly())
                {
                    Interlocked.Increment(ref _sent);
                }
            }
            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task DeviceProbeAsync(RunContext context, SimDevice device, Probe probe, long deadline, CancellationToken ct)
    {
        var path = context.Options.Target.AbsolutePath;
        var payload = Encoding.UTF8.GetBytes("{\"probe\":true}");
        while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
        {
            device.NewTelemetryRequest(path, payload);
            var started = Stopwatch.GetTimestamp();
            var reply = await device.SendAsync().ConfigureAwait(false);
            if (reply.Status == ReplyStatus.Response)
            {
                probe.Latency.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                probe.Outcomes.Add(reply.Code);
            }
            else
            {
                probe.Outcomes.Add(reply.Status == ReplyStatus.Timeout ? "timeout" : reply.Failure ?? "failed");
            }
            await Pause(started, ct).ConfigureAwait(false);
        }
    }

    private async Task ApiProbeAsync(RunContext context, long deadline, CancellationToken ct)
    {
        var id = _flooder!.DeviceId;
        while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var status = await context.Api!.GetDeviceAsync(id, ct).ConfigureAwait(false);
                _api.Latency.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                _api.Outcomes.Add("http_" + ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                _api.Outcomes.Add("http_error");
            }
            await Pause(started, ct).ConfigureAwait(false);
        }
    }

    private static Task Pause(long started, CancellationToken ct) => QuietDelay.WaitAsync(ProbeInterval - Stopwatch.GetElapsedTime(started), ct);

    public long Count(RunContext context) => Interlocked.Read(ref _sent);

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
        result["flood"] = new JsonObject
        {
            ["sent"] = Interlocked.Read(ref _sent),
            ["answers"] = Codes(_floodAnswers),
            ["same_device_second_session"] = ToJson(_sameDevice),
            ["other_device"] = ToJson(_otherDevice),
            ["api_get_device"] = ToJson(_api),
        };
        summary.Add($"  flood: {Interlocked.Read(ref _sent)} NON sent by {_flooder!.DeviceId}; answers {Text(_floodAnswers)}");
        summary.Add("  same device, second session: " + Text(_sameDevice));
        summary.Add("  another device:              " + Text(_otherDevice));
        summary.Add("  API GET of the flooding device: " + Text(_api));
    }

    private static JsonObject Codes(OutcomeCounter counter) => new(counter.Snapshot().Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value)));

    private static JsonObject ToJson(Probe probe)
    {
        var l = probe.Latency.Summary();
        return new JsonObject { ["p50_ms"] = l["p50"], ["p99_ms"] = l["p99"], ["max_ms"] = l["max"], ["outcomes"] = Codes(probe.Outcomes) };
    }

    private static string Text(OutcomeCounter counter) => string.Join(", ", counter.Snapshot().Select(c => $"{c.Key}={c.Value}"));

    private static string Text(Probe probe)
    {
        var l = probe.Latency.Summary();
        return $"p50 {l["p50"]:F1} ms, p99 {l["p99"]:F1} ms, max {l["max"]:F1} ms; {Text(probe.Outcomes)}";
    }
}
