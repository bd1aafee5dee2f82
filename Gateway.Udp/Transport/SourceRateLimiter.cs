using System.Net;
using System.Net.Sockets;

namespace NHub.Gateway.Transport;

/// <summary>
/// A token bucket per source: <c>rate</c> actions per second, bursts up to <c>burst</c>. IPv4 addresses are
/// one source each; IPv6 addresses count per /64, the smallest prefix a site or a 3GPP PDN connection gets (an
/// attacker owns all 2^64 addresses of theirs). Used for DTLS handshakes (consulted only after the cookie exchange
/// proved the address) and for development auto-provisioning of plain-CoAP devices.
/// When <c>maxSources</c> are tracked and none is idle, new sources pass untracked (fail open: the callers' own caps
/// still bound the work — the peer cap and handshake queue, the auto-provisioning device cap).
/// <para>
/// <see cref="Refund"/> gives a token back. The DTLS and TLS transports refund a handshake that authenticated, so for
/// them the bucket limits what fails: honest devices behind one carrier NAT are bounded to <c>burst</c> handshakes in
/// progress at a time, not to <c>rate</c> per second, while a source whose handshakes fail (unknown identities, wrong
/// keys, abandoned flights) gets <c>rate</c> per second once its burst is spent (docs/handshake-limits.md).
/// </para>
/// </summary>
internal sealed class SourceRateLimiter(double ratePerSecond, int burst, int maxSources, TimeProvider time)
{
    private readonly Dictionary<UInt128, Bucket> _buckets = [];
    private readonly Lock _gate = new();

    private struct Bucket
    {
        public double Tokens;
        public long Stamp;
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Count;
            }
        }
    }

    public bool TryAcquire(IPAddress address)
    {
        var key = KeyOf(address);
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.Count >= maxSources)
                {
                    SweepLocked(now);
                    if (_buckets.Count >= maxSources)
                    {
                        return true;
                    }
                }
                bucket = new Bucket { Tokens = burst, Stamp = now };
            }
            Refill(ref bucket, now);
            var allowed = bucket.Tokens >= 1;
            if (allowed)
            {
                bucket.Tokens -= 1;
            }
            _buckets[key] = bucket;
            return allowed;
        }
    }

    /// <summary>Gives back the token an action of <paramref name="address"/> took (it turned out to be wanted); never above the burst.</summary>
    public void Refund(IPAddress address)
    {
        var key = KeyOf(address);
        lock (_gate)
        {
            if (_buckets.TryGetValue(key, out var bucket))
            {
                bucket.Tokens = Math.Min(burst, bucket.Tokens + 1);
                _buckets[key] = bucket;
            }
        }
    }

    /// <summary>Forgets sources whose bucket has refilled (they behave as if never seen).</summary>
    public void Sweep()
    {
        lock (_gate)
        {
            SweepLocked(time.GetTimestamp());
        }
    }

    private void SweepLocked(long now)
    {
        List<UInt128>? full = null;
        foreach (var (key, value) in _buckets)
        {
            var bucket = value;
            Refill(ref bucket, now);
            if (bucket.Tokens >= burst)
            {
                (full ??= []).Add(key);
            }
        }
        if (full is not null)
        {
            foreach (var key in full)
            {
                _buckets.Remove(key);
            }
        }
    }

    private void Refill(ref Bucket bucket, long now)
    {
        var seconds = (double)(now - bucket.Stamp) / time.TimestampFrequency;
        if (seconds > 0)
        {
            bucket.Tokens = Math.Min(burst, bucket.Tokens + seconds * ratePerSecond);
            bucket.Stamp = now;
        }
    }

    internal static UInt128 KeyOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            // ::ffff:a.b.c.d, so IPv4 keys never collide with the /64 keys below (their low half is zero)
            bytes[10] = 0xFF;
            bytes[11] = 0xFF;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
            bytes[8..].Clear();
        }
        return new UInt128(
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }
}
