using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using NHub.Coap;
using NHub.DeviceSimulator.Devices;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// Command round trip: every device observes /commands/&lt;id&gt;; the simulator posts commands through the REST API
/// at --command-rate (round robin over the devices), each carrying its own sequence number in <c>params.seq</c>, and
/// measures from just before the POST to the notification that carries it. Confirmable notifications are ACKed by
/// the device (which is what marks a command delivered, docs/commands.md).
/// </summary>
internal sealed class ObserveCommandsScenario : IScenario
{
    private readonly ConcurrentDictionary<long, long> _inFlight = new();
    private long _sequence;
    private long _delivered;
    private long _posted;
    private int _observing;

    public string Unit => "notifications";

    public async Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        if (context.Api is null)
        {
            throw new ArgumentException("--scenario observe-commands posts commands through the REST API: give --api and --api-key");
        }
        await context.ConnectAllAsync(progress, ct).ConfigureAwait(false);
        foreach (var device in context.Devices)
        {
            device.NotificationReceived = (_, message) => OnNotification(context, message);
        }
        _observing = await ObserveSetup.RegisterAllAsync(context, progress, ct).ConfigureAwait(false);
    }

    public async Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct)
    {
        var devices = context.Devices.ToArray();
        var interval = (long)(Stopwatch.Frequency / Math.Max(0.001, context.Options.CommandRate));
        using var slots = new SemaphoreSlim(context.Options.CommandConcurrency);
        var posts = new List<Task>();
        var next = Stopwatch.GetTimestamp();
        var i = 0;
        while (Stopwatch.GetTimestamp() < deadlineTimestamp && !ct.IsCancellationRequested && devices.Length > 0)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }
            next += interval;
            await slots.WaitAsync(ct).ConfigureAwait(false);
            posts.Add(PostAsync(context, devices[i++ % devices.Length], slots, ct));
        }
        await Task.WhenAll(posts).ConfigureAwait(false);
        // Give the last notifications up to --timeout to arrive; whatever is still missing then is lost.
        var grace = Stopwatch.GetTimestamp() + (long)(context.Options.Timeout.TotalSeconds * Stopwatch.Frequency);
        while (!_inFlight.IsEmpty && Stopwatch.GetTimestamp() < grace)
        {
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
        foreach (var _ in _inFlight)
        {
            context.Outcomes.Add("lost");
        }
    }

    private async Task PostAsync(RunContext context, SimDevice device, SemaphoreSlim slots, CancellationToken ct)
    {
        var seq = Interlocked.Increment(ref _sequence);
        _inFlight[seq] = Stopwatch.GetTimestamp();
        try
        {
            var status = await context.Api!.PostCommandAsync(device.DeviceId, "sim_ping", new { seq }, ct).ConfigureAwait(false);
            Interlocked.Increment(ref _posted);
            if (status != HttpStatusCode.Accepted)
            {
                _inFlight.TryRemove(seq, out _);
                context.Outcomes.Add("http_" + (int)status);
            }
        }
        catch (HttpRequestException ex)
        {
            _inFlight.TryRemove(seq, out _);
            context.Outcomes.Add("http_error_" + (ex.StatusCode is { } s ? (int)s : 0));
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>On the device's receive loop: each command in the notification that we posted ends one measurement.</summary>
    private void OnNotification(RunContext context, CoapMessage message)
    {
        if (message.Code != CoapCode.Content || message.ContentFormat is not (null or ContentFormats.Json))
        {
            context.Outcomes.Add(message.Code);
            return;
        }
        try
        {
            using var doc = JsonDocument.Parse(message.Payload);
            foreach (var command in doc.RootElement.GetProperty("commands").EnumerateArray())
            {
                if (command.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("seq", out var seq)
                    && seq.TryGetInt64(out var n) && _inFlight.TryRemove(n, out var started))
                {
                    context.Latency.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    context.Outcomes.Add(message.Code);
                    Interlocked.Increment(ref _delivered);
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            context.Outcomes.Add("bad_notification");
        }
    }

    public long Count(RunContext context) => Interlocked.Read(ref _delivered);

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
        result["observing"] = _observing;
        result["commands_posted"] = Interlocked.Read(ref _posted);
        result["commands_delivered"] = Interlocked.Read(ref _delivered);
        result["notification_acks_sent"] = Interlocked.Read(ref context.Link.AcksSent);
        summary.Add($"  observing {_observing}/{context.Options.Devices}; commands posted {_posted}, notified {_delivered}, ACKs sent {context.Link.AcksSent}");
    }
}
