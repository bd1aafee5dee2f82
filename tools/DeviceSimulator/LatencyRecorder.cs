namespace NHub.DeviceSimulator;

/// <summary>Latencies in microseconds (bounded sample), outcomes by response code, and percentiles at the end.</summary>
public sealed class LatencyRecorder
{
    private readonly long[] _samples;
    private long _count;
    private readonly Dictionary<string, long> _codes = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public LatencyRecorder(int capacity = 20_000_000) => _samples = new long[capacity];

    public long Completed => Interlocked.Read(ref _count);

    public void Record(string code, long microseconds)
    {
        var i = Interlocked.Increment(ref _count) - 1;
        if (i < _samples.Length)
        {
            _samples[i] = microseconds;
        }
        lock (_gate)
        {
            _codes[code] = _codes.GetValueOrDefault(code) + 1;
        }
    }

    public IReadOnlyDictionary<string, long> Codes
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, long>(_codes);
            }
        }
    }

    /// <summary>Percentiles (ms) of the recorded latencies: p50, p90, p99, p99.9, max.</summary>
    public (double P50, double P90, double P99, double P999, double Max) Percentiles()
    {
        var n = (int)Math.Min(Completed, _samples.Length);
        if (n == 0)
        {
            return default;
        }
        var sorted = _samples.AsSpan(0, n).ToArray();
        Array.Sort(sorted);
        double At(double q) => sorted[Math.Min(n - 1, (int)Math.Ceiling(q * n) - 1)] / 1000.0;
        return (At(0.50), At(0.90), At(0.99), At(0.999), sorted[n - 1] / 1000.0);
    }
}
