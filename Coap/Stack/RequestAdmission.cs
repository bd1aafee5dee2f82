namespace NHub.Coap.Stack;

/// <summary>What <see cref="RequestAdmission{TItem}.TryAdmit"/> decided for a request.</summary>
internal enum Admission
{
    /// <summary>A slot was free: the caller starts the request now.</summary>
    Run,

    /// <summary>Every slot is taken: the request waits, and is started by a <see cref="RequestAdmission{TItem}.Release"/>.</summary>
    Queued,

    /// <summary>Every slot is taken and the waiting line is full: the caller refuses the request (5.03).</summary>
    Refused,
}

/// <summary>
/// A bound on the asynchronous requests a server processes at once
/// (<see cref="CoapServerOptions.MaxRequestsInProgress"/>), with a first-come first-served waiting line behind it
/// (<see cref="CoapServerOptions.MaxRequestsWaiting"/>).
/// <para>
/// Why: a saturated server otherwise starts every request it receives, and each one keeps what it allocated (the
/// handler's state, the backend call, the publish waiting for its ack: ~7 KiB for a telemetry POST) until its answer
/// goes out. With 2,000 devices in flight that is ~15 MiB alive at any time, as much as the garbage collector's
/// youngest generation, so nearly everything a request allocates survives into generation 1 and the process spends a
/// third of its time collecting it (measured, bench/RESULTS.md). Bounded, the requests in progress finish quickly
/// and die young; the others wait as their parsed message, a few hundred bytes each. Throughput is not lost as long
/// as the bound covers throughput × backend latency.
/// </para>
/// <para>
/// A slot is passed on, not freed, when someone waits: <see cref="Release"/> starts the oldest waiting request
/// itself, on the releasing thread, at most <see cref="MaxInlineStarts"/> deep (a waiting request that completes
/// synchronously releases again); deeper, it is started from the thread pool.
/// </para>
/// </summary>
internal sealed class RequestAdmission<TItem>(int maxRunning, int maxWaiting, Action<TItem> start)
{
    private const int MaxInlineStarts = 8;

    [ThreadStatic]
    private static int t_depth;

    private readonly Queue<TItem> _waiting = new();
    private readonly Lock _gate = new();
    private int _running;

    /// <summary>Requests started and not yet released.</summary>
    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>
    /// Whether every slot looked taken a moment ago (read without the lock: a hint for preparing a request that will
    /// probably wait, never a decision; <see cref="TryAdmit"/> decides).
    /// </summary>
    public bool LooksFull => Volatile.Read(ref _running) >= maxRunning;

    /// <summary>Takes a slot for <paramref name="item"/> (<see cref="Admission.Run"/>), or queues it, or refuses it.</summary>
    public Admission TryAdmit(TItem item)
    {
        lock (_gate)
        {
            if (_running < maxRunning)
            {
                _running++;
                return Admission.Run;
            }
            if (_waiting.Count < maxWaiting)
            {
                _waiting.Enqueue(item);
                return Admission.Queued;
            }
            return Admission.Refused;
        }
    }

    /// <summary>A started request finished: its slot goes to the oldest waiting request, or is freed.</summary>
    public void Release()
    {
        TItem next;
        lock (_gate)
        {
            if (!_waiting.TryDequeue(out next!))
            {
                _running--;
                return;
            }
        }
        if (t_depth >= MaxInlineStarts)
        {
            ThreadPool.UnsafeQueueUserWorkItem(start, next, preferLocal: true);
            return;
        }
        t_depth++;
        try
        {
            start(next);
        }
        finally
        {
            t_depth--;
        }
    }
}
