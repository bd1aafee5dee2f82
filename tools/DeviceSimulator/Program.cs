using System.Diagnostics;
using System.Net;
using System.Text.Json;
using NHub.DeviceSimulator;

if (args is [] or ["--help"] or ["-h"])
{
    Console.WriteLine(SimulatorOptions.Usage);
    return 0;
}
SimulatorOptions options;
try
{
    options = SimulatorOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(SimulatorOptions.Usage);
    return 2;
}

var addresses = await Dns.GetHostAddressesAsync(options.Target.Host);
var server = new IPEndPoint(addresses[0], options.Target.Port > 0 ? options.Target.Port : 5683);
var recorder = new LatencyRecorder();
var devices = Enumerable.Range(0, options.Devices).Select(i => new VirtualDevice(i, options, server, recorder)).ToList();
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};

var clock = Stopwatch.StartNew();
var until = DateTimeOffset.UtcNow + options.Duration;
var running = devices.Select(d => Task.Run(() => d.RunAsync(until, cts.Token))).ToArray();
var all = Task.WhenAll(running);
long last = 0;
while (await Task.WhenAny(all, Task.Delay(1000)) != all)
{
    var now = recorder.Completed;
    if (!Console.IsErrorRedirected)
    {
        Console.Error.Write($"\r{clock.Elapsed.TotalSeconds,6:F1} s  {now - last,8} req/s  total {now,10}   ");
    }
    last = now;
}
await all;
var elapsed = clock.Elapsed.TotalSeconds;
foreach (var d in devices)
{
    d.Dispose();
}

var p = recorder.Percentiles();
var codes = recorder.Codes;
var ok = codes.Where(c => c.Key.StartsWith('2')).Sum(c => c.Value);
var result = new
{
    scenario = options.Scenario,
    target = options.Target.ToString(),
    devices = options.Devices,
    duration_s = Math.Round(elapsed, 2),
    requests = recorder.Completed,
    successful = ok,
    throughput_rps = Math.Round(recorder.Completed / elapsed, 1),
    latency_ms = new { p50 = p.P50, p90 = p.P90, p99 = p.P99, p99_9 = p.P999, max = p.Max },
    codes,
};
if (!Console.IsErrorRedirected)
{
    Console.Error.WriteLine();
}
Console.WriteLine($"{result.scenario} {result.target}: {result.devices} devices, {result.duration_s} s");
Console.WriteLine($"  {result.requests} requests ({ok} 2.xx), {result.throughput_rps} req/s");
Console.WriteLine($"  latency ms p50 {p.P50:F3}  p90 {p.P90:F3}  p99 {p.P99:F3}  p99.9 {p.P999:F3}  max {p.Max:F3}");
Console.WriteLine($"  codes: {string.Join(", ", codes.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))}");
if (options.JsonOutput is { } path)
{
    await File.WriteAllTextAsync(path, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
}
return ok > 0 ? 0 : 1;
