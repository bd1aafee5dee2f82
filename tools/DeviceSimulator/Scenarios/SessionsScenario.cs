using System.Diagnostics;
using System.Text.Json.Nodes;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// Session capacity: --devices DTLS sessions, each with an Observe relation on its commands resource, held idle for
/// --duration while the server process (--server-pid) is sampled every second. Setup (handshakes, registrations)
/// is reported separately from the hold.
/// </summary>
internal sealed class SessionsScenario : IScenario
{
    private int _observing;

    public string Unit => "sessions";

    public async Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        if (!context.Options.Dtls)
        {
            throw new ArgumentException("--scenario sessions needs --transport dtls (a coaps:// target)");
        }
        await context.ConnectAllAsync(p =>
        {
            context.ServerProbe?.Sample();
            progress(p + ServerText(context));
        }, ct).ConfigureAwait(false);
        _observing = await ObserveSetup.RegisterAllAsync(context, p =>
        {
            context.ServerProbe?.Sample();
            progress(p + ServerText(context));
        }, ct).ConfigureAwait(false);
    }

    public async Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct)
    {
        while (Stopwatch.GetTimestamp() < deadlineTimestamp && !ct.IsCancellationRequested)
        {
            context.ServerProbe?.Sample();
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(1, Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadlineTimestamp).TotalMilliseconds))), ct)
                .ConfigureAwait(false);
        }
        context.ServerProbe?.Sample();
    }

    private static string ServerText(RunContext context) =>
        context.ServerProbe?.Last is { } s ? $"   server RSS {s.RssBytes / 1048576.0:F0} MiB, {s.Threads} threads" : "";

    public long Count(RunContext context) => context.Devices.Count(d => !d.IsClosed);

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
        var open = Count(context);
        result["sessions_established"] = context.Devices.Count;
        result["sessions_open_at_end"] = open;
        result["observing"] = _observing;
        summary.Add($"  sessions: {context.Devices.Count} established, {_observing} observing, {open} still open after {elapsedSeconds:F1} s");
    }
}
