namespace NHub.DeviceSimulator.Metrics;

/// <summary>
/// Latencies in microseconds as a log-linear histogram (HdrHistogram's idea, our own code): exact below 128 µs, then
/// 64 sub-buckets per power of two, so every reported percentile is within 1.6 % of the true value. Fixed memory
/// (2,304 counters) however long the run, lock-free recording from any thread.
/// </summary>
public sealed class LatencyHistogram
{
    private const int Linear = 128;
    private const int SubBuckets = 64;
    private const int MaxExponent = 40; // 2^40 µs ≈ 12 days
    private readonly long[] _counts = new long[Linear + ((MaxExponent - 6) * SubBuckets)];
    private long _count;
    private long _max;
    private long _sum;

    public long Count => Interlocked.Read(ref _count);

    public void Record(long microseconds)
    {
        var v = Math.Max(0, microseconds);
        Interlocked.Increment(ref _counts[IndexOf(v)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sum, v);
        var max = Volatile.Read(ref _max);
        while (v > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, v, max);
            if (seen == max)
            {
                break;
            }
            max = seen;
        }
    }

    private static int IndexOf(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }
        var exponent = Math.Min(63 - (int)long.LeadingZeroCount(v), MaxExponent - 1); // >= 7
        var shift = exponent - 6;
        var sub = (int)Math.Min(v >> shift, (2 * SubBuckets) - 1); // 64..127
        return Linear + ((exponent - 7) * SubBuckets) + (sub - SubBuckets);
    }

    /// <summary>The middle of bucket <paramref name="index"/>, in µs.</summary>
    private static double ValueOf(int index)
    {
        if (index < Linear)
        {
            return index;
        }
        var exponent = ((index - Linear) / SubBuckets) + 7;
        var sub = ((index - Linear) % SubBuckets) + SubBuckets;
        var shift = exponent - 6;
        return (sub << shift) + ((1L << shift) / 2.0);
    }

    /// <summary>The value (ms) at quantile <paramref name="q"/> (0..1); 0 when nothing was recorded.</summary>
    public double QuantileMs(double q)
    {
        var n = Count;
        if (n == 0)
        {
            return 0;
        }
        var rank = Math.Max(1, (long)Math.Ceiling(q * n));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Round(Math.Min(ValueOf(i), Volatile.Read(ref _max)) / 1000.0, 3);
            }
        }
        return MaxMs;
    }

    public double MaxMs => Math.Round(Volatile.Read(ref _max) / 1000.0, 3);

    public double MeanMs => Count == 0 ? 0 : Math.Round(Interlocked.Read(ref _sum) / (double)Count / 1000.0, 3);

    /// <summary>
    /// The counts as JSON, for a launcher that sums the histograms of several simulator processes
    /// (<see cref="ProcessFleet"/>): the non-empty buckets as [index, count] pairs, the maximum and the sum (µs).
    /// </summary>
    public System.Text.Json.Nodes.JsonObject Export()
    {
        var buckets = new System.Text.Json.Nodes.JsonArray();
        for (var i = 0; i < _counts.Length; i++)
        {
            if (Volatile.Read(ref _counts[i]) is var c and > 0)
            {
                buckets.Add(new System.Text.Json.Nodes.JsonArray(i, c));
            }
        }
        return new() { ["buckets"] = buckets, ["max_us"] = Volatile.Read(ref _max), ["sum_us"] = Interlocked.Read(ref _sum) };
    }

    /// <summary>Adds what <see cref="Export"/> wrote (another process's histogram) to this one.</summary>
    public void Add(System.Text.Json.Nodes.JsonObject exported)
    {
        foreach (var pair in exported["buckets"]!.AsArray())
        {
            var count = pair![1]!.GetValue<long>();
            Interlocked.Add(ref _counts[pair[0]!.GetValue<int>()], count);
            Interlocked.Add(ref _count, count);
        }
        Interlocked.Add(ref _sum, exported["sum_us"]!.GetValue<long>());
        var max = exported["max_us"]!.GetValue<long>();
        if (max > Volatile.Read(ref _max))
        {
            Volatile.Write(ref _max, max);
        }
    }

    /// <summary>p50, p90, p99, p99.9, max and mean (ms), the shape every report uses.</summary>
    public Dictionary<string, double> Summary() => new()
    {
        ["p50"] = QuantileMs(0.50),
        ["p90"] = QuantileMs(0.90),
        ["p99"] = QuantileMs(0.99),
        ["p99_9"] = QuantileMs(0.999),
        ["max"] = MaxMs,
        ["mean"] = MeanMs,
    };
}
