using System.Net;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The bounded hand-off from the receive loops to the thread pool, with the scheduling held by the test.</summary>
public sealed class DeliveryQueueTests
{
    private static readonly PeerInfo Peer = new(new IPEndPoint(IPAddress.Loopback, 40000), TransportKind.Dtls, "meter-1", 1);

    [Fact]
    public void Past_its_capacity_the_newest_is_refused_and_a_finished_delivery_frees_a_place()
    {
        var scheduled = new List<IThreadPoolWorkItem>();
        var receiver = new RecordingReceiver();
        var queue = new DeliveryQueue(capacity: 2, (_, _) => { }, scheduled.Add);

        Assert.True(queue.TryQueue(receiver, Peer, [1]));
        Assert.True(queue.TryQueue(receiver, Peer, [2]));
        Assert.False(queue.TryQueue(receiver, Peer, [3])); // tail drop: the oldest stay
        Assert.Equal(2, queue.Count);
        Assert.Equal(2, scheduled.Count);

        // Queued or running both count: only a delivery that returned frees its place.
        scheduled[0].Execute();
        Assert.Equal(1, queue.Count);
        Assert.True(queue.TryQueue(receiver, Peer, [4]));
        Assert.False(queue.TryQueue(receiver, Peer, [5]));
        scheduled[1].Execute();
        scheduled[2].Execute();
        Assert.Equal(0, queue.Count);
        Assert.Equal(["01", "02", "04"], receiver.Payloads);
    }

    [Fact]
    public void The_payload_is_copied_before_TryQueue_returns()
    {
        var scheduled = new List<IThreadPoolWorkItem>();
        var receiver = new RecordingReceiver();
        var queue = new DeliveryQueue(capacity: 4, (_, _) => { }, scheduled.Add);
        var loopBuffer = new byte[] { 0x40, 0x01, 0x12, 0x34 };

        Assert.True(queue.TryQueue(receiver, Peer, loopBuffer));
        loopBuffer.AsSpan().Clear(); // the receive loop reads its next datagram into the same buffer
        scheduled[0].Execute();

        Assert.Equal(["40011234"], receiver.Payloads);
        Assert.Same(Peer, receiver.LastPeer);
    }

    [Fact]
    public void A_layer_above_that_throws_is_reported_and_its_place_is_freed()
    {
        var scheduled = new List<IThreadPoolWorkItem>();
        var failures = new List<(PeerInfo Peer, Exception Error)>();
        var receiver = new RecordingReceiver { Throw = true };
        var queue = new DeliveryQueue(capacity: 1, (peer, error) => failures.Add((peer, error)), scheduled.Add);

        Assert.True(queue.TryQueue(receiver, Peer, [1]));
        scheduled[0].Execute();

        var failure = Assert.Single(failures);
        Assert.Same(Peer, failure.Peer);
        Assert.IsType<InvalidOperationException>(failure.Error);
        Assert.Equal(0, queue.Count);
        Assert.True(queue.TryQueue(receiver, Peer, [2]));
    }

    private sealed class RecordingReceiver : IDatagramReceiver
    {
        public List<string> Payloads { get; } = [];

        public PeerInfo? LastPeer { get; private set; }

        public bool Throw { get; init; }

        public void OnDatagram(PeerInfo peer, ReadOnlySpan<byte> payload)
        {
            if (Throw)
            {
                throw new InvalidOperationException("the stack must not throw");
            }
            LastPeer = peer;
            Payloads.Add(Convert.ToHexString(payload));
        }

        public void OnPeerClosed(PeerInfo peer)
        {
        }
    }
}
