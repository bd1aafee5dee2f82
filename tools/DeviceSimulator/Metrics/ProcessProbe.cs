using System.Globalization;

namespace NHub.DeviceSimulator.Metrics;

/// <summary>
/// Samples another process through /proc (Linux): resident memory (VmRSS), thread count and CPU time. Used to report
/// the server's footprint (--server-pid) next to the load the simulator put on it.
/// </summary>
public sealed class ProcessProbe(int pid)
{
    private const double ClockTicksPerSecond = 100; // USER_HZ, 100 on every Linux ABI .NET runs on

    public int Pid { get; } = pid;

    public (long RssBytes, int Threads)? First { get; private set; }
    public (long RssBytes, int Threads)? Last { get; private set; }
    public long MaxRssBytes { get; private set; }
    public int MaxThreads { get; private set; }
    public int MinThreads { get; private set; } = int.MaxValue;

    private double? _cpuAtStart;
    private double? _cpuAtEnd;

    /// <summary>Reads the process now; false once it has exited.</summary>
    public bool Sample()
    {
        var status = Read($"/proc/{Pid}/status");
        if (status is null)
        {
            return false;
        }
        long rss = 0;
        var threads = 0;
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
        }
        First ??= (rss, threads);
        Last = (rss, threads);
        MaxRssBytes = Math.Max(MaxRssBytes, rss);
        MaxThreads = Math.Max(MaxThreads, threads);
        MinThreads = Math.Min(MinThreads, threads);
        return true;
    }

    /// <summary>CPU seconds (user + system) the process has used so far; null when it cannot be read.</summary>
    public double? CpuSeconds()
    {
        var stat = Read($"/proc/{Pid}/stat");
        if (stat is null)
        {
            return null;
        }
        // Fields after the parenthesised command name (which may contain spaces): utime is field 14, stime 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
    }

    public void MarkStart() => _cpuAtStart = CpuSeconds();

    public void MarkEnd() => _cpuAtEnd = CpuSeconds();

    /// <summary>CPU seconds between <see cref="MarkStart"/> and <see cref="MarkEnd"/>.</summary>
    public double? CpuDuringRun => _cpuAtStart is { } a && _cpuAtEnd is { } b ? Math.Round(b - a, 2) : null;

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The report's <c>server</c> object (RSS in MiB, threads, CPU over the measured window).</summary>
    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["pid"] = Pid,
        ["rss_mib_start"] = Mib(First?.RssBytes),
        ["rss_mib_end"] = Mib(Last?.RssBytes),
        ["rss_mib_max"] = Mib(MaxRssBytes),
        ["threads_start"] = First?.Threads,
        ["threads_end"] = Last?.Threads,
        ["threads_min"] = MinThreads == int.MaxValue ? null : MinThreads,
        ["threads_max"] = MaxThreads,
        ["cpu_s"] = CpuDuringRun,
    };

    /// <summary>The summary's server line.</summary>
    public string SummaryLine() =>
        $"  server pid {Pid}: RSS {Mib(First?.RssBytes)} -> {Mib(Last?.RssBytes)} MiB (max {Mib(MaxRssBytes)}), threads {First?.Threads} -> {Last?.Threads} (max {MaxThreads}), CPU {CpuDuringRun?.ToString("F1", CultureInfo.InvariantCulture)} s";

    private static double? Mib(long? bytes) => bytes is { } b ? Math.Round(b / 1048576.0, 1) : null;
}
