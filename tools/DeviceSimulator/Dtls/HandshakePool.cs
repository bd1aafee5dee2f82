using System.Collections.Concurrent;
using System.Diagnostics;
using NHub.DeviceSimulator.Devices;
using NHub.DeviceSimulator.Metrics;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>
/// A bounded set of dedicated threads running BouncyCastle's blocking client handshake (<c>DtlsClientProtocol.Connect</c>),
/// one device at a time each. Devices queue here; once connected they hold no thread. Records every handshake's
/// duration and every failure by cause.
/// </summary>
internal sealed class HandshakePool : IDisposable
{
    private readonly BlockingCollection<(SimDevice Device, TaskCompletionSource<bool> Done)> _queue = new();
    private readonly Thread[] _threads;
    private readonly int[] _suites;
    private readonly int _timeoutMillis;
    private long _completed;

    public HandshakePool(int threads, int[] suites, int timeoutMillis)
    {
        _suites = suites;
        _timeoutMillis = timeoutMillis;
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Work, maxStackSize: 256 * 1024) { IsBackground = true, Name = "dtls-handshake-" + i };
            _threads[i].Start();
        }
    }

    public LatencyHistogram Latency { get; } = new();

    public OutcomeCounter Failures { get; } = new();

    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Queues the device's handshake; true when the session is established.</summary>
    public Task<bool> ConnectAsync(SimDevice device)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add((device, done));
        return done.Task;
    }

    /// <summary>One handshake on the calling thread, timed and counted.</summary>
    public bool HandshakeNow(SimDevice device)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            device.Handshake(_suites, _timeoutMillis);
            Latency.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            Interlocked.Increment(ref _completed);
            return true;
        }
        catch (Exception ex)
        {
            Failures.Add(HandshakeFailure.Name(ex));
            return false;
        }
    }

    private void Work()
    {
        foreach (var (device, done) in _queue.GetConsumingEnumerable())
        {
            done.SetResult(HandshakeNow(device));
        }
    }

    /// <summary>Lets the threads finish (they are background threads; the queue is not disposed under them).</summary>
    public void Dispose() => _queue.CompleteAdding();
}
