using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using NHub.Coap;
using NHub.DeviceSimulator.Devices;
using NHub.DeviceSimulator.Metrics;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// Long-lived devices, as behind a gateway that may fail: every device holds its DTLS session and an Observe relation
/// on <c>/commands/&lt;id&gt;</c> (with --ready-file READY the setup pauses after the handshakes: it creates
/// READY.handshakes and waits for READY.go before registering), and sends a CoAP ping (an empty CON, RFC 7252 §4.3, answered by a Reset) every
/// --uplink-every seconds from a random phase; a ping with no answer within --timeout is retransmitted (same Message
/// ID) up to --retransmits times, then counted lost. No device ever handshakes again.
/// <para>
/// --mark-file FILE: when FILE appears it holds a Unix time in milliseconds (the moment a script killed a gateway);
/// from then on the scenario records, per device, the first answer to a ping transmitted after that moment: the time
/// from the mark to that answer, and the latency of that ping (first transmission to answer, retransmissions
/// included). Both are reported per gateway node (the first byte of the Connection ID the device writes, Gateway:NodeId)
/// and over all devices; a device with no such answer by the end is counted unanswered.
/// </para>
/// <para>
/// --command-sample K: --command-after seconds after the mark, one command is posted through the REST API to each
/// of K devices spread over the list, and with --command-before S also S seconds into the run (with --ready-file
/// READY: once READY.commands appears) if no mark has come yet (a control: delivery without a takeover); see <see cref="CommandProbe"/>. --answers FILE: the per-device
/// figures as CSV.
/// </para>
/// </summary>
internal sealed class ObservePingScenario : IScenario
{
    private const long None = long.MinValue;

    private SimDevice[] _devices = [];
    private int[] _node = [];
    private long[] _sinceMarkMs = [];
    private long[] _pingLatencyMs = [];
    private int _observing;
    private long _markUnixMs = None;
    private long _pings;
    private long _answers;
    private long _retransmissions;
    private long _retransmissionsAfterMark;
    private long _lost;
    private long _lostAfterMark;
    private long _failed;
    private readonly CommandProbe _commandsBefore = new("before the mark");
    private readonly CommandProbe _commandsAfter = new("after the mark");
    private Dictionary<SimDevice, int> _index = [];
    private readonly OutcomeCounter _commandFailures = new();

    public string Unit => "pings";

    public async Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        if (!context.Options.Dtls)
        {
            throw new ArgumentException("--scenario observe-ping needs a coaps:// target");
        }
        if (context.Options.CommandSample > 0 && context.Api is null)
        {
            throw new ArgumentException("--command-sample posts commands through the REST API: give --api and --api-key");
        }
        await context.ConnectAllAsync(progress, ct).ConfigureAwait(false);
        if (context.Options.ReadyFile is { } ready)
        {
            // Between the handshakes and the registrations a script may read the server side (its figures of the
            // handshake phase alone): it is told by READY.handshakes and answers by creating READY.go.
            await File.WriteAllTextAsync(ready + ".handshakes", "handshakes done\n", ct).ConfigureAwait(false);
            while (!File.Exists(ready + ".go"))
            {
                progress("handshakes done; waiting for " + ready + ".go");
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }
        foreach (var device in context.Devices)
        {
            device.NotificationReceived = OnNotification;
        }
        _observing = await ObserveSetup.RegisterAllAsync(context, progress, ct).ConfigureAwait(false);
        _devices = [.. context.Devices];
        _node = [.. _devices.Select(d => d.ServerConnectionId is { Length: > 0 } cid ? cid[0] : -1)];
        _sinceMarkMs = [.. _devices.Select(_ => None)];
        _pingLatencyMs = [.. _devices.Select(_ => None)];
        _index = _devices.Select((d, i) => (d, i)).ToDictionary(p => p.d, p => p.i);
    }

    public async Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct)
    {
        var tasks = new List<Task>(_devices.Length + 2);
        for (var i = 0; i < _devices.Length; i++)
        {
            tasks.Add(RunDeviceAsync(context, i, deadlineTimestamp, ct));
        }
        if (context.Options.MarkFile is { } markFile)
        {
            tasks.Add(WatchMarkAsync(context, markFile, deadlineTimestamp, ct));
        }
        if (context.Options.CommandSample > 0 && context.Options.CommandBefore > TimeSpan.Zero)
        {
            tasks.Add(PostBeforeAsync(context, ct));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private static long UnixMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private async Task RunDeviceAsync(RunContext context, int index, long deadline, CancellationToken ct)
    {
        var device = _devices[index];
        var options = context.Options;
        var interval = (long)(options.UplinkEvery.TotalSeconds * Stopwatch.Frequency);
        var next = Stopwatch.GetTimestamp() + (long)(Random.Shared.NextDouble() * interval);
        while (!ct.IsCancellationRequested && !device.IsClosed)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (next >= deadline)
            {
                return;
            }
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }
            next += interval;
            device.NewPing();
            Interlocked.Increment(ref _pings);
            var firstSentMs = UnixMs();
            var sentMs = firstSentMs;
            var sentTicks = Stopwatch.GetTimestamp();
            var reply = await device.SendAsync().ConfigureAwait(false);
            for (var attempt = 0; reply.Status == ReplyStatus.Timeout && attempt < options.Retransmits && !ct.IsCancellationRequested; attempt++)
            {
                Interlocked.Increment(ref _retransmissions);
                if (Volatile.Read(ref _markUnixMs) != None)
                {
                    Interlocked.Increment(ref _retransmissionsAfterMark);
                }
                sentMs = UnixMs();
                sentTicks = Stopwatch.GetTimestamp();
                reply = await device.RetransmitAsync().ConfigureAwait(false);
            }
            var mark = Volatile.Read(ref _markUnixMs);
            switch (reply.Status)
            {
                case ReplyStatus.Reset or ReplyStatus.Response:
                    Interlocked.Increment(ref _answers);
                    context.Latency.Record((long)Stopwatch.GetElapsedTime(sentTicks).TotalMicroseconds); // of the transmission answered
                    context.Outcomes.Add(reply.Status == ReplyStatus.Reset ? "pong" : "response_" + reply.Code);
                    if (mark != None && sentMs >= mark && _sinceMarkMs[index] == None)
                    {
                        var now = UnixMs();
                        _sinceMarkMs[index] = now - mark;
                        _pingLatencyMs[index] = now - Math.Max(firstSentMs, mark);
                    }
                    break;
                case ReplyStatus.Timeout:
                    Interlocked.Increment(ref _lost);
                    if (mark != None)
                    {
                        Interlocked.Increment(ref _lostAfterMark);
                    }
                    context.Outcomes.Add("lost");
                    break;
                default:
                    Interlocked.Increment(ref _failed);
                    context.Outcomes.Add(reply.Failure ?? "failed");
                    break;
            }
        }
    }

    private async Task WatchMarkAsync(RunContext context, string markFile, long deadline, CancellationToken ct)
    {
        while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
        {
            if (File.Exists(markFile) && long.TryParse((await File.ReadAllTextAsync(markFile, ct).ConfigureAwait(false)).Trim(),
                    NumberStyles.Integer, CultureInfo.InvariantCulture, out var mark))
            {
                Volatile.Write(ref _markUnixMs, mark);
                if (context.Options.CommandSample > 0)
                {
                    var due = TimeSpan.FromMilliseconds(mark + context.Options.CommandAfter.TotalMilliseconds - UnixMs());
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, ct).ConfigureAwait(false);
                    }
                    await _commandsAfter.PostAsync(context, _devices, context.Options.CommandSample, ct).ConfigureAwait(false);
                }
                return;
            }
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The control batch: --command-before S into the run, or with --ready-file READY when READY.commands appears (a script's cue).</summary>
    private async Task PostBeforeAsync(RunContext context, CancellationToken ct)
    {
        await Task.Delay(context.Options.CommandBefore, ct).ConfigureAwait(false);
        if (context.Options.ReadyFile is { } ready)
        {
            while (!File.Exists(ready + ".commands") && Volatile.Read(ref _markUnixMs) == None)
            {
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
        }
        if (Volatile.Read(ref _markUnixMs) == None)
        {
            await _commandsBefore.PostAsync(context, _devices, context.Options.CommandSample, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// On a device's receive loop: counts each posted command a notification carries, once. The same command again in
    /// a notification with the same Message ID is a CoAP retransmission (a device de-duplicates it, RFC 7252 §4.5); in
    /// another notification it is a second delivery. Both are counted by the device's gateway node.
    /// </summary>
    private void OnNotification(SimDevice device, CoapMessage message)
    {
        if (message.Code != CoapCode.Content || message.Payload.Length == 0)
        {
            return;
        }
        try
        {
            using var doc = JsonDocument.Parse(message.Payload);
            if (!doc.RootElement.TryGetProperty("commands", out var commands) || commands.ValueKind != JsonValueKind.Array)
            {
                return;
            }
            var node = _index.TryGetValue(device, out var i) ? _node[i].ToString(CultureInfo.InvariantCulture) : "?";
            foreach (var command in commands.EnumerateArray())
            {
                if (command.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("seq", out var seq)
                    && seq.TryGetInt64(out var n) && !_commandsBefore.OnCommand(n, message.MessageId, node))
                {
                    _commandsAfter.OnCommand(n, message.MessageId, node);
                }
            }
        }
        catch (JsonException)
        {
            // not a commands document: not ours to count
        }
    }

    public long Count(RunContext context) => Interlocked.Read(ref _answers);

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
        result["observing"] = _observing;
        result["uplink_every_s"] = context.Options.UplinkEvery.TotalSeconds;
        result["pings"] = Interlocked.Read(ref _pings);
        result["answers"] = Interlocked.Read(ref _answers);
        result["retransmissions"] = Interlocked.Read(ref _retransmissions);
        result["lost"] = Interlocked.Read(ref _lost);
        result["failed"] = Interlocked.Read(ref _failed);
        summary.Add($"  observing {_observing}/{context.Options.Devices}; pings {_pings}, answered {_answers}, retransmissions {_retransmissions}, lost {_lost}, failed {_failed}");
        if (_commandsBefore.Started)
        {
            result["commands_before"] = _commandsBefore.Report(summary);
        }
        var mark = Volatile.Read(ref _markUnixMs);
        if (mark == None)
        {
            if (context.Options.MarkFile is not null)
            {
                summary.Add("  no mark seen");
            }
            return;
        }
        var groups = new JsonObject();
        foreach (var group in Enumerable.Range(0, _devices.Length).GroupBy(i => _node[i]).OrderBy(g => g.Key))
        {
            groups[group.Key < 0 ? "no_cid" : "node_" + group.Key.ToString(CultureInfo.InvariantCulture)] = Group(group.ToArray(), out var line);
            summary.Add($"  after the mark, devices of {(group.Key < 0 ? "no CID" : "node " + group.Key)}: {line}");
        }
        if (context.Options.AnswersFile is { } answers)
        {
            // One line per device, for a script merging several simulator processes: empty fields = no answer.
            File.WriteAllLines(answers, Enumerable.Range(0, _devices.Length).Select(i => string.Join(',', _devices[i].DeviceId,
                _node[i].ToString(CultureInfo.InvariantCulture), Field(_sinceMarkMs[i]), Field(_pingLatencyMs[i]))).Prepend("device_id,node,since_mark_ms,first_ping_ms"));
        }
        var all = Group([.. Enumerable.Range(0, _devices.Length)], out var allLine);
        summary.Add($"  after the mark, all devices: {allLine}");
        result["after_mark"] = new JsonObject
        {
            ["mark_unix_ms"] = mark,
            ["retransmissions"] = Interlocked.Read(ref _retransmissionsAfterMark),
            ["lost"] = Interlocked.Read(ref _lostAfterMark),
            ["all"] = all,
            ["by_node"] = groups,
        };
        if (context.Options.CommandSample > 0)
        {
            result["commands"] = _commandsAfter.Report(summary);
        }
    }

    private static string Field(long value) => value == None ? "" : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Quantiles over every device of the group; an unanswered device counts as later than any answer.</summary>
    private JsonObject Group(int[] members, out string line)
    {
        var since = members.Select(i => _sinceMarkMs[i]).Where(v => v != None).Order().ToArray();
        var latency = members.Select(i => _pingLatencyMs[i]).Where(v => v != None).Order().ToArray();
        var n = members.Length;
        JsonNode? At(long[] sorted, double q)
        {
            var k = (int)Math.Ceiling(q * n) - 1;
            return k < sorted.Length ? sorted[Math.Max(0, k)] : null;
        }
        var o = new JsonObject
        {
            ["devices"] = n,
            ["answered"] = since.Length,
            ["unanswered"] = n - since.Length,
            ["since_mark_ms"] = new JsonObject { ["p50"] = At(since, 0.5), ["p90"] = At(since, 0.9), ["p99"] = At(since, 0.99), ["max"] = since.Length > 0 ? since[^1] : null },
            ["first_ping_ms"] = new JsonObject { ["p50"] = At(latency, 0.5), ["p90"] = At(latency, 0.9), ["p99"] = At(latency, 0.99), ["max"] = latency.Length > 0 ? latency[^1] : null },
        };
        static string Ms(JsonNode? v) => v is null ? "never" : v.GetValue<long>().ToString(CultureInfo.InvariantCulture);
        var s = (JsonObject)o["since_mark_ms"]!;
        var f = (JsonObject)o["first_ping_ms"]!;
        line = $"{since.Length}/{n} answered; first answer after the mark ms p50 {Ms(s["p50"])} p90 {Ms(s["p90"])} p99 {Ms(s["p99"])} max {Ms(s["max"])}; "
            + $"that ping's latency ms p50 {Ms(f["p50"])} p90 {Ms(f["p90"])} p99 {Ms(f["p99"])} max {Ms(f["max"])}";
        return o;
    }
}
