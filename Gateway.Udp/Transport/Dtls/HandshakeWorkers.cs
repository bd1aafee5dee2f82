namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// A fixed set of dedicated threads running BouncyCastle's blocking handshakes, fed by a bounded queue. The thread
/// count is fixed at start and never grows with sessions; when the queue is full the work item is refused (the
/// caller counts it) and the client's retransmitted ClientHello tries again.
/// </summary>
/// <remarks>
/// A plain Monitor queue, not BlockingCollection: its SemaphoreSlim spins (sched_yield, Sleep(0)) before blocking,
/// and with dozens of idle handshake threads that spinning was ~15% of the server's CPU per handshake (perf, see
/// bench/RESULTS.md). Monitor.Wait parks at once; Pulse wakes one thread per item.
/// </remarks>
internal sealed class HandshakeWorkers<T> : IDisposable
{
    private readonly Queue<T> _queue = new();
    private readonly object _gate = new();
    private readonly int _capacity;
    private readonly Thread[] _threads;
    private readonly Action<T> _run;
    private bool _completed;

    public HandshakeWorkers(int threads, int capacity, Action<T> run)
    {
        _run = run;
        _capacity = capacity;
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            // Background: a handshake stuck in BouncyCastle must not keep the process alive.
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"dtls-handshake-{i}" };
            _threads[i].Start();
        }
    }

    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    public int ThreadCount => _threads.Length;

    public bool TryEnqueue(T item)
    {
        lock (_gate)
        {
            if (_completed || _queue.Count >= _capacity)
            {
                return false;
            }
            _queue.Enqueue(item);
            Monitor.Pulse(_gate);
            return true;
        }
    }

    /// <summary>Refuses new work, lets the threads finish theirs, waits up to <paramref name="timeout"/>; returns the items never started.</summary>
    public List<T> Stop(TimeSpan timeout)
    {
        List<T> leftovers;
        lock (_gate)
        {
            _completed = true;
            leftovers = [.. _queue];
            _queue.Clear();
            Monitor.PulseAll(_gate);
        }
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        foreach (var thread in _threads)
        {
            thread.Join((int)Math.Max(0, deadline - Environment.TickCount64));
        }
        return leftovers;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Work()
    {
        while (true)
        {
            T item;
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    if (_completed)
                    {
                        return;
                    }
                    Monitor.Wait(_gate);
                }
                item = _queue.Dequeue();
            }
            try
            {
                _run(item);
            }
            catch (Exception)
            {
                // The callback handles and logs its failures; this only keeps the thread alive.
            }
        }
    }
}
