using System.Collections.Concurrent;

namespace NHub.Coap.Stack;

/// <summary>
/// Requests of one peer being processed at once, bounded by
/// <see cref="CoapServerOptions.MaxRequestsInProgressPerPeer"/>. RFC 7252 §4.7 lets a client have NSTART (1)
/// outstanding interactions, and NON traffic is to stay under PROBING_RATE; a peer far past that (a device sending
/// NON telemetry open-loop) would otherwise queue unbounded work behind its twin and in the gateway's memory. The
/// excess is refused at once (4.29, RFC 8516) without touching the backend.
/// <para>
/// A counter per peer with work in progress, removed when it drops to zero: memory is proportional to the peers
/// being served right now. Under a race a request may see a counter that was just removed and count on it alone, so
/// the bound can be exceeded by the number of threads racing, never grow without bound.
/// </para>
/// </summary>
internal sealed class PeerRequestLimiter<TPeer>(int maxPerPeer)
    where TPeer : notnull
{
    private sealed class Counter
    {
        public int Value;
    }

    private readonly ConcurrentDictionary<TPeer, Counter> _inProgress = new();

    public bool TryEnter(TPeer peer)
    {
        var counter = _inProgress.GetOrAdd(peer, static _ => new Counter());
        if (Interlocked.Increment(ref counter.Value) <= maxPerPeer)
        {
            return true;
        }
        Exit(peer, counter);
        return false;
    }

    public void Exit(TPeer peer)
    {
        if (_inProgress.TryGetValue(peer, out var counter))
        {
            Exit(peer, counter);
        }
    }

    private void Exit(TPeer peer, Counter counter)
    {
        if (Interlocked.Decrement(ref counter.Value) <= 0)
        {
            _inProgress.TryRemove(KeyValuePair.Create(peer, counter));
        }
    }
}
