using System.Buffers;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// One decrypted record whose CoAP request needs an asynchronous handler, on its way from a receive loop to the
/// thread pool. The receive loops are dedicated threads (DtlsTransport.Receive.cs); a handler started on one would
/// run its synchronous part there (the grain call's serialization and send) and, worse, take Orleans' pooled
/// per-call objects from that thread's pool while the thread-pool thread that sees the answer gives them back to
/// its own: Orleans' ConcurrentObjectPool keeps one unbounded stack per thread, so the receive loop's stack stays
/// empty and the pool threads' stacks grow by one object per request for as long as the process runs (measured
/// with dotnet-gcdump: 281,263 ResponseCompletionSource objects held after as many DTLS requests, bench/RESULTS.md).
/// Started here, a request takes and returns them on thread-pool threads. What completes synchronously (ACKs,
/// duplicates, inline resources) never gets here.
/// </summary>
internal sealed class RequestDelivery : IThreadPoolWorkItem
{
    private readonly IDatagramReceiver _receiver;
    private readonly PeerInfo _peer;
    private readonly byte[] _buffer;
    private readonly int _length;
    private readonly Action<RequestDelivery, Exception?> _done;

    private RequestDelivery(IDatagramReceiver receiver, PeerInfo peer, byte[] buffer, int length, Action<RequestDelivery, Exception?> done)
    {
        _receiver = receiver;
        _peer = peer;
        _buffer = buffer;
        _length = length;
        _done = done;
    }

    public PeerInfo Peer => _peer;

    /// <summary>A delivery of a copy of <paramref name="plaintext"/> (the receive loop reuses its buffer); <see cref="DeliveryQueue"/> schedules it.</summary>
    public static RequestDelivery Create(IDatagramReceiver receiver, PeerInfo peer, ReadOnlySpan<byte> plaintext, Action<RequestDelivery, Exception?> done)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(plaintext.Length);
        plaintext.CopyTo(buffer);
        return new RequestDelivery(receiver, peer, buffer, plaintext.Length, done);
    }

    public void Execute()
    {
        Exception? error = null;
        try
        {
            // The CoAP stack copies what it keeps before this returns.
            _receiver.OnDatagram(_peer, _buffer.AsSpan(0, _length));
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        _done(this, error);
    }
}
