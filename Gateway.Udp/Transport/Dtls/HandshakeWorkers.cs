using System.Collections.Concurrent;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// A fixed set of dedicated threads running BouncyCastle's blocking handshakes, fed by a bounded queue. The thread
/// count is fixed at start and never grows with sessions; when the queue is full the work item is refused (the
/// caller counts it) and the client's retransmitted ClientHello tries again.
/// </summary>
internal sealed class HandshakeWorkers<T> : IDisposable
{
    private readonly BlockingCollection<T> _queue;
    private readonly Thread[] _threads;
    private readonly Action<T> _run;

    public HandshakeWorkers(int threads, int capacity, Action<T> run)
    {
        _run = run;
        _queue = new BlockingCollection<T>(new ConcurrentQueue<T>(), capacity);
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            // Background: a handshake stuck in BouncyCastle must not keep the process alive.
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"dtls-handshake-{i}" };
            _threads[i].Start();
        }
    }

    public int Pending => _queue.Count;

    public int ThreadCount => _threads.Length;

    public bool TryEnqueue(T item)
    {
        try
        {
            return _queue.TryAdd(item);
        }
        catch (InvalidOperationException)
        {
            return false; // stopping
        }
    }

    /// <summary>Refuses new work, lets the threads finish theirs, waits up to <paramref name="timeout"/>; returns the items never started.</summary>
    public List<T> Stop(TimeSpan timeout)
    {
        _queue.CompleteAdding();
        var leftovers = new List<T>();
        while (_queue.TryTake(out var item))
        {
            leftovers.Add(item);
        }
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        foreach (var thread in _threads)
        {
            thread.Join((int)Math.Max(0, deadline - Environment.TickCount64));
        }
        return leftovers;
    }

    public void Dispose() => _queue.Dispose();

    private void Work()
    {
        try
        {
            foreach (var item in _queue.GetConsumingEnumerable())
            {
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
        catch (ObjectDisposedException)
        {
            // disposed while stopping
        }
    }
}
