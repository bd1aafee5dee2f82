using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using NHub.DeviceSimulator.Metrics;

namespace NHub.DeviceSimulator;

/// <summary>
/// <c>--processes N</c>: one run spread over N simulator processes, so that the generator is not capped at what one
/// process's receive loops and one GC heap can do. Each child gets its share of the devices (device offsets follow
/// on, so each uses its own slice of a credentials file) and the same options otherwise. All children set up
/// (handshakes, registrations), then start together on one signal (<c>--ready-file</c>/<c>--start-file</c>), so their
/// warm-ups and measured windows coincide. The launcher samples the server (<c>--server-pid</c>) over that window and
/// prints one report: counts and outcomes summed, latency percentiles from the children's merged histograms, the
/// generator's CPU as the sum of the children's, and each child's rate, so a reader sees that no child saturated.
/// A child that fails during setup ends the run (its output is printed); SIGINT/SIGTERM reach the children through
/// the terminal, or they end with their --duration.
/// </summary>
internal static class ProcessFleet
{
    private static readonly string[] Owned = ["processes", "devices", "device-offset", "json", "ready-file", "start-file", "server-pid"];

    public static async Task<int> RunAsync(SimulatorOptions options, string[] args, CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory("nhub-sim-fleet-");
        try
        {
            return await RunAsync(options, args, work.FullName, ct).ConfigureAwait(false);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<int> RunAsync(SimulatorOptions options, string[] args, string work, CancellationToken ct)
    {
        var n = options.Processes;
        var start = Path.Combine(work, "start");
        var children = new List<Child>();
        var offset = options.DeviceOffset;
        var passed = PassThrough(args);
        for (var i = 0; i < n; i++)
        {
            var devices = options.Devices / n + (i < options.Devices % n ? 1 : 0);
            var child = new Child(i, devices, offset, Path.Combine(work, $"{i}.json"), Path.Combine(work, $"{i}.ready"), Path.Combine(work, $"{i}.log"));
            child.Start(passed, start);
            children.Add(child);
            offset += devices;
        }
        try
        {
            Console.WriteLine($"{n} simulator processes, {options.Devices} devices ({string.Join(" + ", children.Select(c => c.Devices))}); setting up");
            while (!children.All(c => File.Exists(c.Ready)))
            {
                if (children.FirstOrDefault(c => c.Process.HasExited && !File.Exists(c.Ready)) is { } failed)
                {
                    Console.Error.WriteLine($"simulator process {failed.Index} ended during setup (exit {failed.Process.ExitCode}):");
                    Console.Error.WriteLine(await failed.OutputAsync().ConfigureAwait(false));
                    return 2;
                }
                await Task.Delay(20, ct).ConfigureAwait(false);
            }
            var probe = options.ServerPid is { } pid ? new ProcessProbe(pid) : null;
            probe?.Sample();
            await File.WriteAllTextAsync(start, "start\n", ct).ConfigureAwait(false);
            Console.WriteLine($"all set up; started (warm-up {options.Warmup.TotalSeconds:0.##} s, measured {options.Duration.TotalSeconds:0.##} s)");
            if (probe is not null)
            {
                await Task.Delay(options.Warmup, ct).ConfigureAwait(false);
                probe.MarkStart();
                var end = DateTime.UtcNow + options.Duration;
                while (DateTime.UtcNow < end && !children.All(c => c.Process.HasExited))
                {
                    probe.Sample();
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(1, (end - DateTime.UtcNow).TotalMilliseconds))), ct).ConfigureAwait(false);
                }
                probe.MarkEnd();
                probe.Sample();
            }
            foreach (var child in children)
            {
                await child.Process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            var reports = new List<JsonObject>();
            foreach (var child in children)
            {
                if (!File.Exists(child.Json))
                {
                    Console.Error.WriteLine($"simulator process {child.Index} wrote no report (exit {child.Process.ExitCode}):");
                    Console.Error.WriteLine(await child.OutputAsync().ConfigureAwait(false));
                    return 2;
                }
                reports.Add(JsonNode.Parse(await File.ReadAllTextAsync(child.Json, CancellationToken.None).ConfigureAwait(false))!.AsObject());
            }
            var merged = Merge(options, reports, probe);
            foreach (var line in Summary(merged, reports, probe))
            {
                Console.WriteLine(line);
            }
            if (options.JsonOutput is { } path)
            {
                await File.WriteAllTextAsync(path, merged.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), CancellationToken.None).ConfigureAwait(false);
            }
            return merged["count"]!.GetValue<long>() > 0 ? 0 : 1;
        }
        finally
        {
            foreach (var child in children)
            {
                child.Dispose();
            }
        }
    }

    /// <summary>The command line minus the options the launcher sets per child.</summary>
    private static List<string> PassThrough(string[] args)
    {
        var passed = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && Owned.Contains(args[i][2..]))
            {
                i++; // and its value
                continue;
            }
            passed.Add(args[i]);
        }
        return passed;
    }

    /// <summary>One report of the same shape as a single process's, from the children's.</summary>
    private static JsonObject Merge(SimulatorOptions options, List<JsonObject> reports, ProcessProbe? probe)
    {
        var first = reports[0];
        var elapsed = reports.Max(r => r["duration_s"]!.GetValue<double>());
        var merged = first.DeepClone().AsObject();
        merged["devices"] = options.Devices;
        merged["processes"] = reports.Count;
        merged["duration_s"] = elapsed;
        foreach (var key in new[] { "requests", "successful", "count", "requests_lost" })
        {
            merged[key] = reports.Sum(r => r[key]?.GetValue<long>() ?? 0);
        }
        merged["client_cpu_s"] = Math.Round(reports.Sum(r => r["client_cpu_s"]!.GetValue<double>()), 2);
        merged["throughput_rps"] = Math.Round(merged["requests"]!.GetValue<long>() / elapsed, 1);
        merged["rate_per_s"] = Math.Round(merged["count"]!.GetValue<long>() / elapsed, 1);
        merged["codes"] = SumCounts(reports.Select(r => r["codes"]?.AsObject()));
        merged["link"] = SumCounts(reports.Select(r => r["link"]?.AsObject()));
        var latency = MergeHistograms(reports.Select(r => r["latency_histogram"]?.AsObject()));
        merged["latency_histogram"] = latency.Export();
        merged["latency_ms"] = ToJson(latency.Summary());
        if (first["handshakes"] is JsonObject)
        {
            var handshakes = reports.Select(r => r["handshakes"]!.AsObject()).ToList();
            var completed = handshakes.Sum(h => h["completed"]!.GetValue<long>());
            var seconds = handshakes.Max(h => h["seconds"]!.GetValue<double>());
            var hl = MergeHistograms(handshakes.Select(h => h["latency_histogram"]?.AsObject()));
            merged["handshakes"] = new JsonObject
            {
                ["completed"] = completed,
                ["failed"] = handshakes.Sum(h => h["failed"]!.GetValue<long>()),
                ["seconds"] = seconds,
                ["per_second"] = Math.Round(completed / Math.Max(seconds, 1e-9), 1),
                ["latency_ms"] = ToJson(hl.Summary()),
                ["latency_histogram"] = hl.Export(),
                ["failures"] = SumCounts(handshakes.Select(h => h["failures"]?.AsObject())),
            };
        }
        merged["per_process"] = new JsonArray([.. reports.Select(r => (JsonNode)new JsonObject
        {
            ["devices"] = r["devices"]!.GetValue<int>(),
            ["rate_per_s"] = r["rate_per_s"]!.GetValue<double>(),
            ["client_cpu_s"] = r["client_cpu_s"]!.GetValue<double>(),
            ["latency_ms_p99"] = r["latency_ms"]!["p99"]!.GetValue<double>(),
        })]);
        merged.Remove("server");
        if (probe is not null)
        {
            merged["server"] = probe.ToJson();
        }
        return merged;
    }

    private static List<string> Summary(JsonObject merged, List<JsonObject> reports, ProcessProbe? probe)
    {
        var elapsed = merged["duration_s"]!.GetValue<double>();
        var l = merged["latency_ms"]!;
        var unit = merged["unit"]?.GetValue<string>() ?? "requests";
        var cpu = merged["client_cpu_s"]!.GetValue<double>();
        var lines = new List<string>
        {
            $"{merged["scenario"]} {merged["transport"]} {merged["target"]}: {merged["devices"]} devices over {reports.Count} processes, {elapsed:F2} s",
            unit == "sessions"
                ? $"  {merged["count"]} sessions held"
                : $"  {merged["count"]} {unit}, {merged["rate_per_s"]} {unit}/s; {merged["requests"]} outcomes ({merged["successful"]} 2.xx), {merged["throughput_rps"]} req/s",
            $"  latency ms p50 {l["p50"]}  p90 {l["p90"]}  p99 {l["p99"]}  p99.9 {l["p99_9"]}  max {l["max"]}",
            $"  codes: {string.Join(", ", merged["codes"]!.AsObject().Select(c => $"{c.Key}={c.Value}"))}",
        };
        if (merged["handshakes"] is JsonObject h)
        {
            lines.Add($"  handshakes: {h["completed"]} in {h["seconds"]} s = {h["per_second"]}/s, p50 {h["latency_ms"]!["p50"]} ms p99 {h["latency_ms"]!["p99"]} ms; failed {h["failed"]} "
                + string.Join(", ", h["failures"]!.AsObject().Select(c => $"{c.Key}={c.Value}")));
        }
        if (probe is not null)
        {
            lines.Add(probe.SummaryLine());
        }
        lines.Add($"  simulator CPU {cpu:F1} s ({cpu / elapsed:F2} cores) in {reports.Count} processes; per process: "
            + string.Join(", ", reports.Select(r => $"{r["rate_per_s"]}/s at {r["client_cpu_s"]!.GetValue<double>() / Math.Max(r["duration_s"]!.GetValue<double>(), 1e-9):F2} cores")));
        return lines;
    }

    private static LatencyHistogram MergeHistograms(IEnumerable<JsonObject?> exported)
    {
        var histogram = new LatencyHistogram();
        foreach (var e in exported)
        {
            if (e is not null)
            {
                histogram.Add(e);
            }
        }
        return histogram;
    }

    private static JsonObject SumCounts(IEnumerable<JsonObject?> objects)
    {
        var sums = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var o in objects)
        {
            foreach (var (key, value) in o ?? new JsonObject())
            {
                if (value is JsonValue v && v.TryGetValue<long>(out var n))
                {
                    sums[key] = sums.GetValueOrDefault(key) + n;
                }
            }
        }
        return new JsonObject(sums.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value)));
    }

    private static JsonObject ToJson(Dictionary<string, double> values) => new(values.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)v.Value)));

    private sealed class Child(int index, int devices, int offset, string json, string ready, string log) : IDisposable
    {
        private readonly object _gate = new();
        private StreamWriter? _log;

        public int Index { get; } = index;
        public int Devices { get; } = devices;
        public string Json { get; } = json;
        public string Ready { get; } = ready;
        public Process Process { get; private set; } = null!;

        public void Start(List<string> passed, string start)
        {
            // The same program, as it was started: `dotnet NHub.DeviceSimulator.dll` or the apphost.
            var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            {
                info.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
            }
            foreach (var a in passed)
            {
                info.ArgumentList.Add(a);
            }
            foreach (var (name, value) in new[] { ("devices", Devices), ("device-offset", offset) })
            {
                info.ArgumentList.Add("--" + name);
                info.ArgumentList.Add(value.ToString(CultureInfo.InvariantCulture));
            }
            foreach (var (name, value) in new[] { ("json", Json), ("ready-file", Ready), ("start-file", start) })
            {
                info.ArgumentList.Add("--" + name);
                info.ArgumentList.Add(value);
            }
            _log = new StreamWriter(log) { AutoFlush = true };
            Process = Process.Start(info) ?? throw new IOException("could not start a simulator process");
            Process.OutputDataReceived += (_, e) => Write(e.Data);
            Process.ErrorDataReceived += (_, e) => Write(e.Data);
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        private void Write(string? line)
        {
            if (line is not null)
            {
                lock (_gate)
                {
                    _log?.WriteLine(line);
                }
            }
        }

        public async Task<string> OutputAsync()
        {
            await Process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                _log?.Flush();
            }
            return await File.ReadAllTextAsync(log, CancellationToken.None).ConfigureAwait(false);
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill();
            }
            Process.WaitForExit();
            lock (_gate)
            {
                _log?.Dispose();
                _log = null;
            }
            Process.Dispose();
        }
    }
}
