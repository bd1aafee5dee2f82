using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NHub.DtlsBench;

/// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID) and of the whole process.</summary>
internal static partial class CpuClock
{
    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>This thread's CPU time; zero where the clock is unavailable.</summary>
    public static TimeSpan Thread()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(ClockThreadCpuTime, out var t) != 0)
        {
            return TimeSpan.Zero;
        }
        return TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100);
    }

    public static TimeSpan Process()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    /// <summary>Resident set size from /proc (fresh, unlike a cached Process object).</summary>
    public static long ResidentBytes()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    public static int Threads()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.Threads.Count;
    }

    public static string Uptime() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";

    public static Stopwatch Start() => Stopwatch.StartNew();
}
