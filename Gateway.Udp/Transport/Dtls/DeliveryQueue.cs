namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Decrypted requests on their way from the receive loops to the thread pool (<see cref="RequestDelivery"/>), at most
/// <see cref="DtlsOptions.DeliveryQueueCapacity"/> of them queued or running at once. Overflow policy: tail drop
/// (<see cref="TryQueue"/> refuses the newest); a CON sender retransmits (RFC 7252 §4.2), so overload sheds load
/// instead of growing memory.
/// </summary>
internal sealed class DeliveryQueue
{
    private readonly int _capacity;
    private readonly Action<PeerInfo, Exception> _handlerFailed;
    private readonly Action<IThreadPoolWorkItem> _schedule;
    private readonly Action<RequestDelivery, Exception?> _delivered;
    private int _queued;

    /// <param name="capacity">Deliveries queued or running at most.</param>
    /// <param name="handlerFailed">Told when the layer above threw (it must not; one datagram is lost, never a thread).</param>
    /// <param name="schedule">Runs a delivery; the thread pool unless a test holds them.</param>
    public DeliveryQueue(int capacity, Action<PeerInfo, Exception> handlerFailed, Action<IThreadPoolWorkItem>? schedule = null)
    {
        _capacity = capacity;
        _handlerFailed = handlerFailed;
        _schedule = schedule ?? (item => ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false));
        _delivered = OnDelivered;
    }

    /// <summary>Deliveries queued or running now.</summary>
    public int Count => Volatile.Read(ref _queued);

    /// <summary>
    /// Copies <paramref name="plaintext"/> (the receive loop reuses its buffer) and schedules its delivery to
    /// <paramref name="receiver"/>; false, having done nothing, when <see cref="DtlsOptions.DeliveryQueueCapacity"/>
    /// deliveries are queued or running.
    /// </summary>
    public bool TryQueue(IDatagramReceiver receiver, PeerInfo peer, ReadOnlySpan<byte> plaintext)
    {
        if (Interlocked.Increment(ref _queued) > _capacity)
        {
            Interlocked.Decrement(ref _queued);
            return false;
        }
        _schedule(RequestDelivery.Create(receiver, peer, plaintext, _delivered));
        return true;
    }

    private void OnDelivered(RequestDelivery delivery, Exception? error)
    {
        Interlocked.Decrement(ref _queued);
        if (error is not null)
        {
            _handlerFailed(delivery.Peer, error);
        }
    }
}
