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
}
