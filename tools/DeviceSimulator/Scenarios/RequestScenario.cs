using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using NHub.Coap;
using NHub.DeviceSimulator.Devices;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// telemetry: POST the JSON payload to the target path with <c>?id=&lt;device&gt;</c> (the guide's request);
/// get: GET the target path. Each device sends its next request when the previous one is answered (flat out), or on
/// its own schedule when --rate is set (devices spread over the interval so the total rate is even). With
/// --rebind-every each device moves to a new source port between requests (<see cref="SourcePortRebinding"/>).
/// </summary>
internal sealed class RequestScenario(bool telemetry) : IScenario
{
    private byte[] _payload = [];
    private string _path = "/";

    public string Unit => "requests";

    public Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        _payload = Encoding.UTF8.GetBytes(context.Options.Payload);
        _path = context.Options.Target.AbsolutePath;
        return context.ConnectAllAsync(progress, ct);
    }

    public Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct) =>
        Task.WhenAll(context.Devices.Select(d => RunDeviceAsync(context, d, deadlineTimestamp, ct)));

    private async Task RunDeviceAsync(RunContext context, SimDevice device, long deadline, CancellationToken ct)
    {
        var rate = context.Options.Rate;
        var interval = rate > 0 ? (long)(context.Devices.Count / rate * Stopwatch.Frequency) : 0;
        var next = Stopwatch.GetTimestamp() + (long)(Random.Shared.NextDouble() * interval);
        var rebinding = context.Rebinding;
        var rebindDue = rebinding?.FirstDue(Stopwatch.GetTimestamp()) ?? long.MaxValue;
        while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested && !device.IsClosed)
        {
            if (interval > 0)
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct).ConfigureAwait(false);
                }
                next += interval;
            }
            if (rebinding is not null)
            {
                rebindDue = rebinding.RebindIfDue(device, rebindDue, context.MeasureFrom);
            }
            if (telemetry)
            {
                device.NewTelemetryRequest(_path, _payload);
            }
            else
            {
                device.NewRequest(CoapCode.Get).SetUriPath(_path);
            }
            var started = Stopwatch.GetTimestamp();
            var reply = await device.SendAsync().ConfigureAwait(false);
            context.Record(reply, started);
        }
    }

    public long Count(RunContext context) => context.Outcomes.Total;

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
    }
}
