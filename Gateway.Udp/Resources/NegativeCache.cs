using System.Collections.Concurrent;

namespace NHub.Gateway.Resources;

/// <summary>
/// Names found not to exist (a firmware version, a device id), remembered for a short time so that a device
/// retrying them, or a fuzzer repeating them, costs one backend look-up per name per period and no more. Bounded:
/// when full, expired names go first, then the half that expires soonest. A time of zero disables it.
/// </summary>
public sealed class NegativeCache(TimeSpan timeToLive, int maxEntries, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> _until = new(StringComparer.Ordinal);
    private readonly Lock _trimGate = new();
    private readonly long _ttl = (long)(timeToLive.TotalSeconds * time.TimestampFrequency);

    public int Count => _until.Count;

    /// <summary>True while <paramref name="name"/> is known not to exist.</summary>
    public bool Contains(string name)
    {
        if (!_until.TryGetValue(name, out var until))
        {
            return false;
        }
        if (time.GetTimestamp() < until)
        {
            return true;
        }
        _until.TryRemove(KeyValuePair.Create(name, until));
        return false;
    }

    public void Add(string name)
    {
        if (_ttl <= 0)
        {
            return;
        }
        var now = time.GetTimestamp();
        if (_until.Count >= maxEntries)
        {
            Trim(now);
        }
        _until[name] = now + _ttl;
    }

    /// <summary>The name exists now (created, uploaded): forget it at once.</summary>
    public void Remove(string name) => _until.TryRemove(name, out _);

    private void Trim(long now)
    {
        lock (_trimGate)
        {
            foreach (var (key, until) in _until)
            {
                if (until <= now)
                {
                    _until.TryRemove(key, out _);
                }
            }
            if (_until.Count >= maxEntries)
            {
                var median = _until.Values.Order().ElementAt(_until.Count / 2);
                foreach (var (key, until) in _until)
                {
                    if (until <= median)
                    {
                        _until.TryRemove(key, out _);
                    }
                }
            }
        }
    }
}
