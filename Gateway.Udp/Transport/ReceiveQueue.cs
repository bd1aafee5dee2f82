using System.Buffers;
using System.Threading.Channels;

namespace NHub.Gateway.Transport;

/// <summary>
/// The bounded hand-off from a transport's receive loops to the layer above, for datagrams it did not take inline
/// (<see cref="IDatagramReceiver.TryReceiveInline"/>): a pooled copy on a queue, handed to
/// <see cref="IDatagramReceiver.OnDatagram"/> by a few workers on the thread pool. Used by the UDP and DTLS transports.
/// <para>
/// Why workers on the thread pool and not the receive loop itself: the loops are dedicated threads, and a request
/// handler started on one takes Orleans' pooled per-call objects from that thread's pool while the pool thread that
/// sees the answer gives them back to its own (Orleans' ConcurrentObjectPool keeps one unbounded stack per thread):
/// the pool threads' stacks grew by one object per request for as long as the process ran (281,263
/// ResponseCompletionSource objects after as many DTLS requests, docs/request-admission.md). On the workers a request
/// takes and returns them on thread-pool threads.
/// </para>
/// Overflow policy: tail drop (<see cref="TryQueue"/> refuses the newest; the transport counts it as "queue_full"); a
/// CON sender retransmits (RFC 7252 §4.2), so overload sheds load instead of growing memory.
/// </summary>
internal sealed class ReceiveQueue : IAsyncDisposable
{
    private readonly Channel<Inbound> _queue;
    private readonly ArrayPool<byte> _pool;
    private readonly int _workerCount;
    private readonly Action<PeerInfo, Exception> _handlerFailed;
    private readonly CancellationTokenSource _stop = new();
    private Task[] _workers = [];
    private int _stopped;

    private readonly record struct Inbound(PeerInfo Peer, byte[] Buffer, int Length);

    /// <param name="capacity">Datagrams waiting for a worker at most.</param>
    /// <param name="workers">Workers handing them on; 0: one per core.</param>
    /// <param name="pool">Where the copies' buffers come from (tests count rents and returns).</param>
    /// <param name="handlerFailed">Told when the layer above threw (it must not; one datagram is lost, never a worker).</param>
    public ReceiveQueue(int capacity, int workers, ArrayPool<byte> pool, Action<PeerInfo, Exception> handlerFailed)
    {
        // Wait mode + TryWrite gives a tail drop we can count (DropWrite would hide the drop from TryWrite).
        _queue = Channel.CreateBounded<Inbound>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
            SingleReader = false,
        });
        _pool = pool;
        _workerCount = workers > 0 ? workers : Environment.ProcessorCount;
        _handlerFailed = handlerFailed;
    }

    /// <summary>Starts the workers: from here on, queued datagrams go to <paramref name="receiver"/>.</summary>
    public void Start(IDatagramReceiver receiver)
    {
        _workers = new Task[_workerCount];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = Task.Run(() => WorkAsync(receiver));
        }
    }

    /// <summary>
    /// Queues a copy of <paramref name="datagram"/> (the receive loop reuses its buffer); false, having kept nothing,
    /// when the queue is full or stopped.
    /// </summary>
    public bool TryQueue(PeerInfo peer, ReadOnlySpan<byte> datagram)
    {
        var copy = _pool.Rent(datagram.Length);
        datagram.CopyTo(copy);
        if (_queue.Writer.TryWrite(new Inbound(peer, copy, datagram.Length)))
        {
            return true;
        }
        _pool.Return(copy);
        return false;
    }

    /// <summary>Stops the workers (what is still queued is not delivered) and gives the queued copies back to the pool.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        await _stop.CancelAsync();
        _queue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_workers);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        while (_queue.Reader.TryRead(out var left))
        {
            _pool.Return(left.Buffer);
        }
        _stop.Dispose();
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private async Task WorkAsync(IDatagramReceiver receiver)
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                while (reader.TryRead(out var item))
                {
                    try
                    {
                        receiver.OnDatagram(item.Peer, item.Buffer.AsSpan(0, item.Length));
                    }
                    catch (Exception ex)
                    {
                        _handlerFailed(item.Peer, ex);
                    }
                    finally
                    {
                        _pool.Return(item.Buffer);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }
}
