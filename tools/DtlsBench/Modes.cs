using System.Diagnostics;
using System.Net;

namespace NHub.DtlsBench;

/// <summary>Server and clients in one process; the clients' CPU is measured per thread and subtracted.</summary>
internal static class InProcess
{
    public static async Task<int> RunAsync(Options options)
    {
        var clients = options.Int("clients", 8);
        var count = options.Int("count", 10_000);
        var identities = options.Int("identities", 1);
        await using var server = new BenchServer(0, identities, options.Int("handshake-threads", 0), options.Int("receive-loops", 1));
        Console.WriteLine($"inproc: {count} handshakes by {clients} client threads, suite CCM_8, close={options.Flag("close")}, load {CpuClock.Uptime()}");
        // Warm up (JIT, pools) outside the measurement.
        ClientsOnly.Drive(server.EndPoint, [IPAddress.Loopback], 0, options.Int("warmup", 2000), clients, identities, options.Flag("close"), options.Flag("request"), offset: 0);
        var baseline = Memory.Measure(server.Transport.SessionCount);

        var processBefore = CpuClock.Process();
        var watch = Stopwatch.StartNew();
        var result = ClientsOnly.Drive(server.EndPoint, [IPAddress.Loopback], 0, count, clients, identities, options.Flag("close"), options.Flag("request"), offset: 1_000_000);
        var elapsed = watch.Elapsed;
        var process = CpuClock.Process() - processBefore;
        var serverCpu = process - result.ClientCpu;

        Console.WriteLine($"handshakes ok {result.Succeeded}, failed {result.Failed}, in {elapsed.TotalSeconds:F2} s: {result.Succeeded / elapsed.TotalSeconds:F0}/s");
        Console.WriteLine($"CPU per handshake: process {process.TotalMilliseconds / result.Succeeded:F3} ms, clients {result.ClientCpu.TotalMilliseconds / result.Succeeded:F3} ms, server (process - clients) {serverCpu.TotalMilliseconds / result.Succeeded:F3} ms");
        Console.WriteLine($"server counters: {server.Counters()}");
        var after = Memory.Measure(server.Transport.SessionCount);
        Memory.Report(baseline, after);
        return result.Failed == 0 ? 0 : 1;
    }
}

/// <summary>Only the server: a long-lived gateway whose cost per handshake and per session is printed every interval.</summary>
internal static class ServerOnly
{
    public static async Task<int> RunAsync(Options options)
    {
        var identities = options.Int("identities", 1);
        await using var server = new BenchServer(options.Int("port", 5684), identities, options.Int("handshake-threads", 0), options.Int("receive-loops", 1));
        var interval = TimeSpan.FromSeconds(options.Int("interval", 2));
        var baseline = Memory.Measure(0);
        Console.WriteLine($"server on {server.EndPoint}, {identities} identities; baseline heap {baseline.Heap / 1048576.0:F1} MiB, RSS {baseline.Rss / 1048576.0:F1} MiB, threads {baseline.Threads}");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        var lastCount = 0L;
        var lastCpu = CpuClock.Process();
        var reportedSessions = -1;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            var count = server.Handshakes("success");
            var cpu = CpuClock.Process();
            var done = count - lastCount;
            var sessions = server.Transport.SessionCount;
            if (done > 0)
            {
                Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} sessions {sessions}, {done / interval.TotalSeconds:F0} handshakes/s, server CPU {(cpu - lastCpu).TotalMilliseconds / done:F3} ms/handshake, RSS {CpuClock.ResidentBytes() / 1048576.0:F0} MiB, threads {CpuClock.Threads()} [{server.Counters()}]");
            }
            else if (sessions != reportedSessions && sessions > 0)
            {
                // Quiet: measure what the held sessions cost (full, compacting GC first).
                reportedSessions = sessions;
                Memory.Report(baseline, Memory.Measure(sessions));
            }
            lastCount = count;
            lastCpu = cpu;
        }
        return 0;
    }
}

/// <summary>Only clients, each handshake from its own (address, port) so every session stays distinct on the server.</summary>
internal static class ClientsOnly
{
    public sealed record Result(long Succeeded, long Failed, TimeSpan ClientCpu);

    public static int Run(Options options)
    {
        var target = IPEndPoint.Parse(options.Text("target", "127.0.0.1:5684"));
        var ips = options.Addresses("ips", "127.0.0.2");
        var count = options.Int("count", 10_000);
        var clients = options.Int("clients", 8);
        var processBefore = CpuClock.Process();
        var watch = Stopwatch.StartNew();
        var result = Drive(target, ips, options.Int("base-port", 10_000), count, clients, options.Int("identities", 1), options.Flag("close"), options.Flag("request"), options.Int("offset", 0));
        Console.WriteLine($"clients: {result.Succeeded} ok, {result.Failed} failed in {watch.Elapsed.TotalSeconds:F1} s ({result.Succeeded / watch.Elapsed.TotalSeconds:F0}/s); client CPU {(CpuClock.Process() - processBefore).TotalMilliseconds / Math.Max(1, result.Succeeded):F3} ms/handshake");
        return result.Failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// <paramref name="count"/> handshakes on <paramref name="clients"/> threads. Source port 0 (ephemeral) when
    /// <paramref name="basePort"/> is 0; otherwise handshake i binds ips[i / ports], basePort + i % ports.
    /// </summary>
    public static Result Drive(IPEndPoint target, IPAddress[] ips, int basePort, int count, int clients, int identities, bool close, bool request, int offset)
    {
        var next = -1;
        long ok = 0, failed = 0, cpuTicks = 0;
        var portsPerIp = basePort == 0 ? int.MaxValue : 65535 - basePort + 1;
        var key = BenchPskClient.Key(BenchServer.Key);
        byte[] coap = [0x40, 0x01, 0x12, 0x34, 0xB1, (byte)'x']; // CON GET /x
        var threads = new Thread[clients];
        for (var t = 0; t < clients; t++)
        {
            threads[t] = new Thread(() =>
            {
                var start = CpuClock.Thread();
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var bind = basePort == 0
                        ? new IPEndPoint(ips[0], 0)
                        : new IPEndPoint(ips[i / portsPerIp % ips.Length], basePort + i % portsPerIp);
                    try
                    {
                        BenchPskClient.Handshake(target, bind, BenchServer.Identity(i + offset, identities), key, Org.BouncyCastle.Tls.CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, close, request ? coap : null);
                        Interlocked.Increment(ref ok);
                    }
                    catch (Exception ex)
                    {
                        if (Interlocked.Increment(ref failed) <= 5)
                        {
                            Console.Error.WriteLine($"handshake {i} from {bind} failed: {ex.GetType().Name}: {ex.Message}");
                        }
                    }
                }
                Interlocked.Add(ref cpuTicks, (CpuClock.Thread() - start).Ticks);
            }) { IsBackground = true, Name = $"bench-client-{t}" };
            threads[t].Start();
        }
        foreach (var thread in threads)
        {
            thread.Join();
        }
        return new Result(ok, failed, TimeSpan.FromTicks(cpuTicks));
    }
}

/// <summary>Managed heap after a full compacting GC, RSS and threads, and the cost per session between two points.</summary>
internal static class Memory
{
    public sealed record Snapshot(long Heap, long Rss, int Threads, int Sessions);

    public static Snapshot Measure(int sessions)
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return new Snapshot(GC.GetTotalMemory(forceFullCollection: true), CpuClock.ResidentBytes(), CpuClock.Threads(), sessions);
    }

    public static void Report(Snapshot before, Snapshot after)
    {
        var sessions = after.Sessions - before.Sessions;
        Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} sessions {after.Sessions}: heap {after.Heap / 1048576.0:F1} MiB, RSS {after.Rss / 1048576.0:F1} MiB, threads {before.Threads} -> {after.Threads}");
        if (sessions > 0)
        {
            var heapPer = (after.Heap - before.Heap) / (double)sessions;
            var rssPer = (after.Rss - before.Rss) / (double)sessions;
            Console.WriteLine($"  per session: heap {heapPer:F0} B, RSS {rssPer:F0} B; 100k sessions extrapolated: heap {heapPer * 100_000 / 1048576:F0} MiB, RSS {(before.Rss + rssPer * 100_000) / 1048576:F0} MiB");
        }
    }
}
