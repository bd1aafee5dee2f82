namespace NHub.Coap.Stack;

/// <summary>
/// Message ids for the messages this endpoint originates, per peer (RFC 7252 §4.4): a counter per peer from a random
/// start, so an id is not reused with that peer until 65,536 later messages — far more than any peer gets within
/// EXCHANGE_LIFETIME. Bounded: counters live in two generations of at most <c>maxPeers</c> each; when the current one
/// fills, the older is dropped and a peer seen again is carried over, so only peers idle for a whole generation lose
/// their counter (and restart at a random id).
/// </summary>
internal sealed class MessageIdAllocator<TPeer>
    where TPeer : notnull
{
    private readonly int _maxPeers;
    private readonly Lock _gate = new();
    private Dictionary<TPeer, ushort> _current = new();
    private Dictionary<TPeer, ushort> _previous = new();

    public MessageIdAllocator(int maxPeers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPeers, 1);
        _maxPeers = maxPeers;
    }

    /// <summary>Peers with a counter (both generations).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _current.Count + _previous.Count;
            }
        }
    }

    public ushort Next(TPeer peer)
    {
        lock (_gate)
        {
            if (!_current.TryGetValue(peer, out var next))
            {
                if (!_previous.Remove(peer, out next))
                {
                    next = (ushort)Random.Shared.Next(0, 65536);
                }
                if (_current.Count >= _maxPeers)
                {
                    (_previous, _current) = (_current, _previous);
                    _current.Clear();
                }
            }
            _current[peer] = (ushort)(next + 1);
            return next;
        }
    }

    public void Forget(TPeer peer)
    {
        lock (_gate)
        {
            _current.Remove(peer);
            _previous.Remove(peer);
        }
    }
}
