using System.Collections.Concurrent;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Sessions of certificate and raw-key devices that a later handshake may resume by session id (RFC 5246 §7.3, the
/// abbreviated handshake: no ECDHE, no signatures, one round trip less). In this process only, never stored: the
/// master secret stays in memory, and a device resuming at another gateway does a full handshake. Bounded by
/// <see cref="DtlsOptions.ResumptionCacheSize"/> (the oldest are dropped) and <see cref="DtlsOptions.ResumptionLifetime"/>.
/// A resumption authenticates the stored certificate again (expiry, authority, revocation), exactly as a full
/// handshake would: see <see cref="DeviceDtlsServer"/>. Thread-safe.
/// </summary>
internal sealed class ResumptionCache(int capacity, TimeSpan lifetime, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Key, long Added)> _order = new();
    private readonly long _lifetime = (long)(lifetime.TotalSeconds * time.TimestampFrequency);

    /// <summary>A resumable session and what authenticated it (the peer's certificate or raw key, as it was sent).</summary>
    public sealed record Entry(TlsSession Session, Certificate PeerCertificate, long Added);

    public int Count => _entries.Count;

    public void Add(TlsSession session, Certificate peerCertificate)
    {
        if (session.SessionID is not { Length: > 0 } id || !session.IsResumable || peerCertificate.IsEmpty)
        {
            return;
        }
        var key = Convert.ToHexString(id);
        var now = time.GetTimestamp();
        lock (_order)
        {
            _entries[key] = new Entry(session, peerCertificate, now);
            _order.Enqueue((key, now));
            // The queue is in the order of adding, with entries long removed (declined, expired, dropped) still in it:
            // drop from its head what is dead or expired, and the oldest live ones while over capacity. Bounded at
            // twice the capacity, so removals that never reach the head cannot grow it.
            while (_order.TryPeek(out var oldest))
            {
                var live = _entries.TryGetValue(oldest.Key, out var entry) && entry.Added == oldest.Added;
                if (live && _entries.Count <= capacity && _order.Count <= 2 * capacity && now - oldest.Added <= _lifetime)
                {
                    break;
                }
                _order.TryDequeue(out _);
                if (live)
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(oldest.Key, entry!));
                }
            }
        }
    }

    /// <summary>Queued adds, live or not (bounded at twice the capacity; for tests).</summary>
    internal int Queued => _order.Count;

    /// <summary>The session <paramref name="sessionId"/> names, if still resumable and within its lifetime.</summary>
    public Entry? Find(byte[]? sessionId)
    {
        if (sessionId is not { Length: > 0 } || !_entries.TryGetValue(Convert.ToHexString(sessionId), out var entry))
        {
            return null;
        }
        if (!entry.Session.IsResumable || time.GetTimestamp() - entry.Added > _lifetime)
        {
            Remove(sessionId);
            return null;
        }
        return entry;
    }

    public void Remove(byte[] sessionId) => _entries.TryRemove(Convert.ToHexString(sessionId), out _);
}
