using System.Globalization;
using System.Text.Json.Nodes;
using NHub.DeviceSimulator.Scenarios;

namespace NHub.DeviceSimulator.Metrics;

/// <summary>The final result: the JSON document for scripts and the human summary, built from the same figures.</summary>
internal sealed record RunReport(JsonObject Json, List<string> Summary, bool Succeeded)
{
    public static RunReport Build(RunContext context, IScenario scenario, double elapsed, double clientCpuSeconds)
    {
        var o = context.Options;
        var outcomes = context.Outcomes;
        var latency = context.Latency.Summary();
        var codes = outcomes.Snapshot();
        var count = scenario.Count(context);
        var json = new JsonObject
        {
            ["scenario"] = o.Scenario,
            ["transport"] = o.Transport,
            ["target"] = o.Target.ToString(),
            ["devices"] = o.Devices,
            ["duration_s"] = Math.Round(elapsed, 2),
            ["warmup_s"] = o.Warmup.TotalSeconds,
            ["requests"] = outcomes.Total,
            ["successful"] = outcomes.Successful,
            ["throughput_rps"] = Math.Round(outcomes.Total / elapsed, 1),
            ["unit"] = scenario.Unit,
            ["count"] = count,
            ["rate_per_s"] = Math.Round(count / elapsed, 1),
            ["latency_ms"] = ToJson(latency),
            ["latency_histogram"] = context.Latency.Export(),
            ["codes"] = new JsonObject(codes.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
            ["client_cpu_s"] = Math.Round(clientCpuSeconds, 2),
        };
        var summary = new List<string>
        {
            $"{o.Scenario} {o.Transport} {o.Target}: {context.Devices.Count}/{o.Devices} devices, {elapsed:F2} s",
            scenario.Unit == "sessions" ? $"  {count} sessions held" : $"  {count} {scenario.Unit}, {count / elapsed:F1} {scenario.Unit}/s; {outcomes.Total} outcomes ({outcomes.Successful} 2.xx), {outcomes.Total / elapsed:F1} req/s",
            $"  latency ms p50 {latency["p50"]:F3}  p90 {latency["p90"]:F3}  p99 {latency["p99"]:F3}  p99.9 {latency["p99_9"]:F3}  max {latency["max"]:F3}",
            $"  codes: {string.Join(", ", codes.Select(c => $"{c.Key}={c.Value}"))}",
        };
        if (context.HasHandshakes)
        {
            var h = context.Handshakes;
            var window = o.Scenario == "handshakes" ? elapsed : context.SetupSeconds;
            var hl = h.Latency.Summary();
            json["handshakes"] = new JsonObject
            {
                ["completed"] = h.Completed,
                ["failed"] = h.Failures.Total,
                ["seconds"] = Math.Round(window, 2),
                ["per_second"] = Math.Round(h.Completed / Math.Max(window, 1e-9), 1),
                ["latency_ms"] = ToJson(hl),
                ["latency_histogram"] = h.Latency.Export(),
                ["failures"] = new JsonObject(h.Failures.Snapshot().Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
            };
            summary.Add($"  handshakes: {h.Completed} in {window:F1} s = {h.Completed / Math.Max(window, 1e-9):F1}/s, p50 {hl["p50"]:F2} ms p99 {hl["p99"]:F2} ms; failed {h.Failures.Total} "
                + string.Join(", ", h.Failures.Snapshot().Select(c => $"{c.Key}={c.Value}")));
        }
        var link = context.Link;
        json["link"] = new JsonObject
        {
            ["notifications"] = link.Notifications,
            ["acks_sent"] = link.AcksSent,
            ["malformed"] = link.Malformed,
            ["sessions_failed"] = link.SessionsFailed,
            ["stray_responses"] = link.StrayResponses,
            ["connection_id_sessions"] = context.ConnectionIdSessions,
        };
        // A request with no answer within --timeout (the simulator does not retransmit).
        json["requests_lost"] = codes.GetValueOrDefault("timeout");
        if (context.Rebinding is { } rebinding)
        {
            json["rebinds"] = new JsonObject
            {
                ["every_s"] = o.RebindEvery.TotalSeconds,
                ["done"] = rebinding.Done,
                ["failed"] = rebinding.Failed,
            };
        }
        if (o.ConnectionId != "off" || context.Rebinding is not null)
        {
            summary.Add($"  connection ids: {context.ConnectionIdSessions}/{context.Devices.Count} sessions (--cid {o.ConnectionId}); "
                + (context.Rebinding is { } r ? $"rebinds {r.Done} (failed {r.Failed}, every ~{o.RebindEvery.TotalSeconds:0.##} s); " : "")
                + $"requests lost {codes.GetValueOrDefault("timeout")}; sessions failed {link.SessionsFailed}");
        }
        if (context.ServerProbe is { } probe)
        {
            json["server"] = probe.ToJson();
            summary.Add(probe.SummaryLine());
        }
        summary.Add($"  simulator CPU {clientCpuSeconds:F1} s ({clientCpuSeconds / elapsed:F2} cores)");
        scenario.Report(context, json, summary, elapsed);
        return new RunReport(json, summary, count > 0);
    }


    private static JsonObject ToJson(Dictionary<string, double> values) =>
        new(values.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)v.Value)));
}
