namespace NHub.Coap.Stack;

/// <summary>
/// Observe relations grouped by a key (a resource, a peer), for <see cref="ObserveRegistry{TPeer}"/> under its lock.
/// Almost every key holds one relation (a device observes its own <c>/commands/&lt;id&gt;</c>, once), so a key's
/// value is that relation itself, and becomes a list only when a second one joins: with a million sessions the
/// two indexes then cost a dictionary entry each per relation, not a list and its array as well.
/// </summary>
internal sealed class RelationIndex<TKey, TPeer>
    where TKey : notnull
    where TPeer : notnull
{
    private readonly Dictionary<TKey, object> _map; // ObserveRelation<TPeer> or List<ObserveRelation<TPeer>>

    public RelationIndex(IEqualityComparer<TKey>? comparer = null) => _map = new Dictionary<TKey, object>(comparer);

    public void Add(TKey key, ObserveRelation<TPeer> relation)
    {
        if (!_map.TryGetValue(key, out var value))
        {
            _map[key] = relation;
        }
        else if (value is List<ObserveRelation<TPeer>> list)
        {
            list.Add(relation);
        }
        else
        {
            _map[key] = new List<ObserveRelation<TPeer>>(2) { (ObserveRelation<TPeer>)value, relation };
        }
    }

    public void Remove(TKey key, ObserveRelation<TPeer> relation)
    {
        if (!_map.TryGetValue(key, out var value))
        {
            return;
        }
        if (value is List<ObserveRelation<TPeer>> list)
        {
            list.Remove(relation);
            if (list.Count == 1)
            {
                _map[key] = list[0];
            }
            else if (list.Count == 0)
            {
                _map.Remove(key);
            }
        }
        else if (ReferenceEquals(value, relation))
        {
            _map.Remove(key);
        }
    }

    public int Count(TKey key) => _map.TryGetValue(key, out var value) ? value is List<ObserveRelation<TPeer>> list ? list.Count : 1 : 0;

    /// <summary>A copy of the key's relations (empty when none), safe to use while the index changes.</summary>
    public ObserveRelation<TPeer>[] Snapshot(TKey key) => _map.TryGetValue(key, out var value)
        ? value is List<ObserveRelation<TPeer>> list ? list.ToArray() : [(ObserveRelation<TPeer>)value]
        : [];

    /// <summary>The first of the key's relations that <paramref name="match"/> accepts.</summary>
    public ObserveRelation<TPeer>? Find<TState>(TKey key, TState state, Func<ObserveRelation<TPeer>, TState, bool> match)
    {
        if (!_map.TryGetValue(key, out var value))
        {
            return null;
        }
        if (value is List<ObserveRelation<TPeer>> list)
        {
            foreach (var r in list)
            {
                if (match(r, state))
                {
                    return r;
                }
            }
            return null;
        }
        var single = (ObserveRelation<TPeer>)value;
        return match(single, state) ? single : null;
    }
}
