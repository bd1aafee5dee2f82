namespace NHub.Coap.Internal;

/// <summary>
/// Many deadlines on one timer: a min-heap of (item, due timestamp) and a single <see cref="ITimer"/> armed for the
/// earliest. Nothing is allocated per scheduled item beyond the heap slot, so a server with a million outstanding
/// retransmissions runs one timer, not a million.
/// <para>
/// Cancellation is lazy: a cancelled or rescheduled item stays in the heap until it surfaces, and
/// <c>isCurrent(item, due)</c> decides whether it is still wanted. The heap is compacted when stale slots outnumber
/// live ones, so its size stays proportional to what is actually outstanding.
/// </para>
/// Due items are handed to <c>onDue</c> outside the queue's lock, on the timer's thread (or, with a fake
/// <see cref="TimeProvider"/>, inside <c>Advance</c>).
/// </summary>
internal sealed class DeadlineQueue<T> : IDisposable
    where T : class
{
    private readonly PriorityQueue<T, long> _heap = new();
    private readonly TimeProvider _time;
    private readonly Func<T, long, bool> _isCurrent;
    private readonly Action<T> _onDue;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private int _live;
    private bool _disposed;

    /// <param name="time">The clock (a fake one in tests).</param>
    /// <param name="isCurrent">Whether the heap slot (item, due) is still wanted; called under the queue's lock, keep it cheap.</param>
    /// <param name="onDue">Called once per due, current slot, outside the lock.</param>
    public DeadlineQueue(TimeProvider time, Func<T, long, bool> isCurrent, Action<T> onDue)
    {
        _time = time;
        _isCurrent = isCurrent;
        _onDue = onDue;
        _timer = time.CreateTimer(static state => ((DeadlineQueue<T>)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Heap slots, live and stale (for tests and metrics).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _heap.Count;
            }
        }
    }

    /// <summary>Schedules <paramref name="item"/> at <paramref name="due"/> (a <see cref="TimeProvider.GetTimestamp"/> value).</summary>
    public void Schedule(T item, long due)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _heap.Enqueue(item, due);
            _live++;
            if (_heap.Count > 64 && _heap.Count > 2 * _live)
            {
                CompactLocked();
            }
            if (due < _armedFor)
            {
                ArmLocked(due);
            }
        }
    }

    /// <summary>One scheduled slot was cancelled by its owner (keeps the compaction estimate honest).</summary>
    public void Cancelled()
    {
        lock (_gate)
        {
            _live = Math.Max(0, _live - 1);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _heap.Clear();
        }
        _timer.Dispose();
    }

    private void OnTimer()
    {
        List<T>? due = null;
        lock (_gate)
        {
            _armedFor = long.MaxValue;
            var now = _time.GetTimestamp();
            while (_heap.TryPeek(out var item, out var at) && at <= now)
            {
                _heap.Dequeue();
                if (_isCurrent(item, at))
                {
                    _live = Math.Max(0, _live - 1);
                    (due ??= []).Add(item);
                }
            }
            if (_heap.TryPeek(out _, out var next) && !_disposed)
            {
                ArmLocked(next);
            }
        }
        if (due is null)
        {
            return;
        }
        foreach (var item in due)
        {
            _onDue(item);
        }
    }

    private void ArmLocked(long due)
    {
        _armedFor = due;
        var ticks = due - _time.GetTimestamp();
        // Round up so the timer never fires before the deadline (which would re-arm with zero and spin).
        var delay = ticks <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling(ticks * (double)TimeSpan.TicksPerSecond / _time.TimestampFrequency)));
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private void CompactLocked()
    {
        var kept = new List<(T, long)>(_live);
        while (_heap.TryDequeue(out var item, out var at))
        {
            if (_isCurrent(item, at))
            {
                kept.Add((item, at));
            }
        }
        _heap.EnqueueRange(kept);
        _live = kept.Count;
    }
}
