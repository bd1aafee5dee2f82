using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using NHub.DeviceSimulator.Metrics;

namespace NHub.DeviceSimulator.Flood;

/// <summary>
/// <c>flood</c>: sends <c>--datagrams</c> malformed or hostile datagrams (<see cref="DatagramMutator"/>; CoAP for a
/// coap:// target, DTLS records for coaps://) from <c>--sockets</c> source ports, while a <see cref="ControlDevice"/>
/// posts telemetry; then keeps measuring for <c>--after</c> seconds. Reports the control device's latency before,
/// during and after, the answers the flood got by class (5.00 counted apart), and the server's RSS (--server-pid).
/// Bounded by the datagram count and the run's time; loopback targets only (a bench tool, not a scanner).
/// </summary>
internal static class FloodCommand
{
    public static async Task<int> RunAsync(SimulatorOptions options, CancellationToken ct)
    {
        var target = options.Target;
        var addresses = await Dns.GetHostAddressesAsync(target.Host, ct);
        var server = new IPEndPoint(addresses[0], target.Port);
        if (!IPAddress.IsLoopback(server.Address))
        {
            throw new ArgumentException("flood sends only to loopback addresses");
        }
        var dtls = target.Scheme == "coaps";
        var control = new ControlDevice(options.Control ?? throw new ArgumentException("flood needs --control coap://host:port/telemetry?id=DEVICE"),
            TimeSpan.FromMilliseconds(options.ControlIntervalMs), options.Timeout);
        var probe = options.ServerPid is { } pid ? new ProcessProbe(pid) : null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        control.Current = control.Before;
        var controlRun = control.RunAsync(stop.Token);
        await Task.Delay(options.Baseline, ct);
        probe?.Sample();
        var rssBefore = probe?.Last?.RssBytes;

        var sockets = Enumerable.Range(0, options.Sockets).Select(_ =>
        {
            var s = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            s.Connect(server);
            return s;
        }).ToArray();
        var answers = new long[8];
        long fiveHundred = 0;
        var receivers = sockets.Select(s => Task.Run(async () =>
        {
            var buffer = new byte[2048];
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var n = await s.ReceiveAsync(buffer, stop.Token);
                    // CoAP (RFC 7252 §3): version 1 in the top bits, the code in byte 1; DTLS answers counted as class 0.
                    var cls = !dtls && n >= 4 && buffer[0] >> 6 == 1 ? buffer[1] >> 5 : 0;
                    Interlocked.Increment(ref answers[cls]);
                    if (!dtls && n >= 4 && buffer[1] == 0xA0)
                    {
                        Interlocked.Increment(ref fiveHundred);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // the run is over, or the port is unreachable (ICMP): keep what was counted
            }
        })).ToArray();

        control.Current = control.During;
        var mutator = new DatagramMutator(options.Seed);
        var started = Stopwatch.GetTimestamp();
        long sent = 0;
        long peakRss = rssBefore ?? 0;
        var sender = Task.Run(() =>
        {
            var perTick = options.Rate > 0 ? Math.Max(1, (long)(options.Rate / 1000)) : long.MaxValue;
            var tickStart = Stopwatch.GetTimestamp();
            long inTick = 0;
            for (long i = 0; i < options.Datagrams && !stop.IsCancellationRequested; i++)
            {
                var datagram = dtls ? mutator.NextDtls() : mutator.NextCoap();
                try
                {
                    sockets[i % sockets.Length].Send(datagram);
                }
                catch (SocketException)
                {
                    // ICMP port unreachable from an earlier datagram, or a full buffer: the next one goes on
                }
                sent++;
                if (++inTick >= perTick)
                {
                    while (Stopwatch.GetElapsedTime(tickStart).TotalMilliseconds < 1)
                    {
                        Thread.SpinWait(100);
                    }
                    tickStart = Stopwatch.GetTimestamp();
                    inTick = 0;
                }
            }
        }, CancellationToken.None);
        var progress = new ProgressLine();
        while (await Task.WhenAny(sender, Task.Delay(1000, CancellationToken.None)) != sender)
        {
            probe?.Sample();
            peakRss = Math.Max(peakRss, probe?.Last?.RssBytes ?? 0);
            progress.Show($"{Stopwatch.GetElapsedTime(started).TotalSeconds,6:F1} s  sent {Interlocked.Read(ref sent),10}  control p99 {control.During.Latency.QuantileMs(0.99)} ms");
        }
        await sender;
        var floodSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        control.Current = control.After;
        var afterEnd = Stopwatch.GetTimestamp() + (long)(options.After.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < afterEnd)
        {
            probe?.Sample();
            peakRss = Math.Max(peakRss, probe?.Last?.RssBytes ?? 0);
            await Task.Delay(500, CancellationToken.None);
        }
        probe?.Sample();
        var rssAfter = probe?.Last?.RssBytes;
        await stop.CancelAsync();
        await Task.WhenAll(receivers);
        try
        {
            await controlRun;
        }
        catch (OperationCanceledException)
        {
            // stopped
        }
        foreach (var s in sockets)
        {
            s.Dispose();
        }
        progress.Done();

        var json = new JsonObject
        {
            ["kind"] = dtls ? "dtls" : "coap",
            ["datagrams"] = sent,
            ["flood_s"] = Math.Round(floodSeconds, 2),
            ["datagrams_per_s"] = Math.Round(sent / floodSeconds),
            ["answers_by_class"] = new JsonObject { ["2"] = answers[2], ["4"] = answers[4], ["5"] = answers[5], ["other"] = answers[0] + answers[1] + answers[3] },
            ["answers_5_00"] = fiveHundred,
            ["control"] = new JsonObject { ["before"] = Describe(control.Before), ["during"] = Describe(control.During), ["after"] = Describe(control.After) },
        };
        if (probe is not null)
        {
            json["server_rss_mib"] = new JsonObject
            {
                ["before"] = Mib(rssBefore),
                ["peak"] = Mib(peakRss),
                ["after"] = Mib(rssAfter),
                ["growth_after"] = rssBefore is { } b && rssAfter is { } a ? Math.Round((a - b) / 1048576.0, 1) : null,
            };
        }
        Console.WriteLine($"flood: {sent} {(dtls ? "DTLS" : "CoAP")} datagrams in {floodSeconds:F1} s ({sent / floodSeconds:F0}/s) from {sockets.Length} ports");
        Console.WriteLine($"answers to the flood: 2.xx {answers[2]}, 4.xx {answers[4]}, 5.xx {answers[5]} (5.00: {fiveHundred}), other {answers[0] + answers[1] + answers[3]}");
        foreach (var (name, phase) in new[] { ("before", control.Before), ("during", control.During), ("after", control.After) })
        {
            Console.WriteLine($"control device {name,-6}: {phase.Latency.Count} answered, p50 {phase.Latency.QuantileMs(0.5)} ms, p99 {phase.Latency.QuantileMs(0.99)} ms, " +
                $"max {phase.Latency.MaxMs} ms, lost {phase.Lost}, not 2.01 {phase.NotCreated}");
        }
        if (probe is not null)
        {
            Console.WriteLine($"server RSS: before {Mib(rssBefore)} MiB, peak {Mib(peakRss)} MiB, {options.After.TotalSeconds:F0} s after {Mib(rssAfter)} MiB");
        }
        if (options.JsonOutput is { } path)
        {
            await File.WriteAllTextAsync(path, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
        }
        return 0;
    }

    private static JsonObject Describe(ControlDevice.Phase phase)
    {
        var o = new JsonObject { ["answered"] = phase.Latency.Count, ["lost"] = phase.Lost, ["not_created"] = phase.NotCreated };
        foreach (var (k, v) in phase.Latency.Summary())
        {
            o[k] = v;
        }
        return o;
    }

    private static double? Mib(long? bytes) => bytes is { } b ? Math.Round(b / 1048576.0, 1) : null;
}
