using System.Collections.Concurrent;
using NHub.Coap;

namespace NHub.DeviceSimulator.Metrics;

/// <summary>
/// Outcomes by name: CoAP response codes ("2.01", "4.04") on a lock-free array indexed by the code byte, everything
/// else ("timeout", "http_409", "alert_decrypt_error") in a concurrent dictionary.
/// </summary>
public sealed class OutcomeCounter
{
    private readonly long[] _codes = new long[256];
    private readonly ConcurrentDictionary<string, long> _other = new(StringComparer.Ordinal);
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    public void Add(CoapCode code)
    {
        Interlocked.Increment(ref _codes[code.Value]);
        Interlocked.Increment(ref _total);
    }

    public void Add(string outcome)
    {
        _other.AddOrUpdate(outcome, 1, static (_, n) => n + 1);
        Interlocked.Increment(ref _total);
    }

    /// <summary>Outcomes that are CoAP success codes (2.xx).</summary>
    public long Successful
    {
        get
        {
            long ok = 0;
            for (var v = 0x40; v < 0x60; v++)
            {
                ok += Interlocked.Read(ref _codes[v]);
            }
            return ok;
        }
    }

    public long this[string outcome] => _other.GetValueOrDefault(outcome);

    public SortedDictionary<string, long> Snapshot()
    {
        var all = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var v = 0; v < _codes.Length; v++)
        {
            var n = Interlocked.Read(ref _codes[v]);
            if (n > 0)
            {
                all[new CoapCode((byte)v).ToString()] = n;
            }
        }
        foreach (var (k, n) in _other)
        {
            all[k] = n;
        }
        return all;
    }
}
