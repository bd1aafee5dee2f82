using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using NHub.Gateway.Transport;

namespace NHub.Gateway.Tests.Transport;

/// <summary>The bounded hand-off from the UDP and DTLS receive loops to the workers, without sockets.</summary>
public sealed class ReceiveQueueTests
{
    private static readonly PeerInfo Peer = new(new IPEndPoint(IPAddress.Loopback, 40000), TransportKind.Dtls, "meter-1", 1);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Past_its_capacity_the_newest_is_refused_and_the_queued_ones_are_delivered_in_order()
    {
        var receiver = new RecordingReceiver(expected: 3);
        await using var queue = new ReceiveQueue(capacity: 2, workers: 1, ArrayPool<byte>.Shared, (_, _) => { });

        // Not started: nothing takes from the queue yet.
        Assert.True(queue.TryQueue(Peer, [1]));
        Assert.True(queue.TryQueue(Peer, [2]));
        Assert.False(queue.TryQueue(Peer, [3])); // tail drop: the oldest stay

        queue.Start(receiver);
        await WaitUntilAsync(() => queue.TryQueue(Peer, [4])); // a place frees once the worker takes the first
        await receiver.All.WaitAsync(Wait);
        Assert.Equal(["01", "02", "04"], receiver.Payloads);
    }

    [Fact]
    public async Task The_payload_is_copied_before_TryQueue_returns()
    {
        var receiver = new RecordingReceiver(expected: 1);
        await using var queue = new ReceiveQueue(capacity: 4, workers: 1, ArrayPool<byte>.Shared, (_, _) => { });
        var loopBuffer = new byte[] { 0x40, 0x01, 0x12, 0x34 };

        Assert.True(queue.TryQueue(Peer, loopBuffer));
        loopBuffer.AsSpan().Clear(); // the receive loop reads its next datagram into the same buffer
        queue.Start(receiver);

        await receiver.All.WaitAsync(Wait);
        Assert.Equal(["40011234"], receiver.Payloads);
        Assert.Same(Peer, receiver.LastPeer);
    }

    [Fact]
    public async Task A_layer_above_that_throws_is_reported_and_the_worker_goes_on()
    {
        var failures = new ConcurrentQueue<(PeerInfo Peer, Exception Error)>();
        var receiver = new RecordingReceiver(expected: 1) { ThrowOn = 0x01 };
        await using var queue = new ReceiveQueue(capacity: 4, workers: 1, ArrayPool<byte>.Shared, (peer, error) => failures.Enqueue((peer, error)));

        Assert.True(queue.TryQueue(Peer, [1]));
        Assert.True(queue.TryQueue(Peer, [2]));
        queue.Start(receiver);

        await receiver.All.WaitAsync(Wait);
        Assert.Equal(["02"], receiver.Payloads);
        var failure = Assert.Single(failures);
        Assert.Same(Peer, failure.Peer);
        Assert.IsType<InvalidOperationException>(failure.Error);
    }

    [Fact]
    public async Task Stopping_gives_every_queued_copy_back_to_the_pool_and_refuses_more()
    {
        var pool = new CountingPool();
        var queue = new ReceiveQueue(capacity: 8, workers: 1, pool, (_, _) => { });
        for (var i = 0; i < 5; i++)
        {
            Assert.True(queue.TryQueue(Peer, [(byte)i]));
        }

        await queue.StopAsync(); // never started: none delivered
        Assert.False(queue.TryQueue(Peer, [9]));
        Assert.Equal(6, pool.Rented);
        Assert.Equal(6, pool.Returned);
        await queue.DisposeAsync(); // a second stop is a no-op
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (!condition())
        {
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }

    private sealed class RecordingReceiver(int expected) : IDatagramReceiver
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<string> _payloads = new();

        public Task All => _all.Task;

        public IReadOnlyList<string> Payloads => [.. _payloads];

        public PeerInfo? LastPeer { get; private set; }

        public byte? ThrowOn { get; init; }

        public void OnDatagram(PeerInfo peer, ReadOnlySpan<byte> payload)
        {
            if (payload.Length > 0 && payload[0] == ThrowOn)
            {
                throw new InvalidOperationException("the stack must not throw");
            }
            LastPeer = peer;
            _payloads.Enqueue(Convert.ToHexString(payload));
            if (_payloads.Count == expected)
            {
                _all.TrySetResult();
            }
        }

        public void OnPeerClosed(PeerInfo peer)
        {
        }
    }

    private sealed class CountingPool : ArrayPool<byte>
    {
        private int _rented;
        private int _returned;

        public int Rented => Volatile.Read(ref _rented);

        public int Returned => Volatile.Read(ref _returned);

        public override byte[] Rent(int minimumLength)
        {
            Interlocked.Increment(ref _rented);
            return new byte[minimumLength];
        }

        public override void Return(byte[] array, bool clearArray = false) => Interlocked.Increment(ref _returned);
    }
}
