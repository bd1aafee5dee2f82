using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Udp;

namespace NHub.Gateway.Tests.Transport.Udp;

/// <summary>
/// The plain UDP transport over a real loopback socket: inline delivery on the receive threads, the queued path for
/// what the receiver declines, the bounded queue's tail drop, and every pooled buffer returned on every path.
/// </summary>
public sealed class UdpTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly TestMeterFactory _meters = new();
    private readonly CountingPool _pool = new();
    private readonly Socket _client = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private UdpTransport? _transport;

    public Task InitializeAsync()
    {
        _client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_transport is not null)
        {
            await _transport.DisposeAsync();
        }
        _client.Dispose();
        _meters.Dispose();
    }

    [Fact]
    public async Task Datagrams_the_receiver_takes_inline_are_handled_on_a_receive_thread_and_never_queued()
    {
        var receiver = new Receiver { Inline = _ => true };
        Start(receiver);

        Send(1, 2, 3);
        Send(4, 5);
        await receiver.HandledAsync(2);

        Assert.Empty(receiver.Queued);
        Assert.All(receiver.InlineThreads, name => Assert.StartsWith("CoAP UDP receive", name));
        await StopAndAssertBuffersReturned();
    }

    [Fact]
    public async Task Declined_datagrams_reach_OnDatagram_on_a_worker_as_an_intact_copy()
    {
        var receiver = new Receiver { Inline = _ => false };
        Start(receiver);

        Send(0x40, 0x01, 0x12, 0x34);
        await receiver.HandledAsync(2); // offered inline, then delivered queued

        Assert.True(receiver.Queued.TryPeek(out var queued));
        Assert.Equal(new byte[] { 0x40, 0x01, 0x12, 0x34 }, queued.Bytes);
        Assert.Equal(1, receiver.InlineCount);
        Assert.DoesNotContain("CoAP UDP receive", queued.Thread ?? "");
        await StopAndAssertBuffersReturned();
    }

    [Fact]
    public async Task A_receiver_that_throws_loses_that_datagram_only_and_every_buffer_is_returned()
    {
        var receiver = new Receiver
        {
            Inline = payload => payload.Span[0] switch
            {
                1 => throw new InvalidOperationException("inline"),
                2 => false,
                _ => true,
            },
            ThrowOnQueued = true,
        };
        Start(receiver);

        Send(1); // throws inline
        Send(2); // declined, then throws on the worker
        Send(3); // still served: the loop survived
        await receiver.HandledAsync(4);
        await _meters.WaitForAsync(m => m.Total("nhub.transport.datagrams.dropped", "reason", "handler_error") == 2, Wait, "two handler errors");
        Assert.Equal(3, receiver.InlineCount);

        await StopAndAssertBuffersReturned();
    }

    [Fact]
    public async Task A_full_queue_drops_the_newest_datagram_counts_it_and_returns_its_buffer()
    {
        using var gate = new ManualResetEventSlim();
        var receiver = new Receiver { Inline = _ => false, BlockQueued = gate };
        Start(receiver, o =>
        {
            o.ReceiveQueueCapacity = 16;
            o.Workers = 1;
            o.ReceiveLoops = 1;
        });

        for (var i = 0; i < 40; i++)
        {
            Send((byte)i);
        }
        // One is held by the blocked worker (or not yet taken), 16 wait in the queue: the rest are tail-dropped.
        await _meters.WaitForAsync(m => m.Total("nhub.transport.datagrams.dropped", "reason", "queue_full") >= 40 - 17, Wait, "tail drops");
        gate.Set();
        await StopAndAssertBuffersReturned();
    }

    [Fact]
    public async Task Oversize_datagrams_are_dropped_on_the_receive_loop()
    {
        var receiver = new Receiver { Inline = _ => true };
        Start(receiver, o => o.MaxDatagramSize = 64);

        Send(new byte[65]);
        Send(new byte[64]);
        await receiver.HandledAsync(1);
        await _meters.WaitForAsync(m => m.Total("nhub.transport.datagrams.dropped", "reason", "oversize") == 1, Wait, "one oversize drop");
        Assert.Equal(1, receiver.InlineCount);

        await StopAndAssertBuffersReturned();
    }

    private void Start(Receiver receiver, Action<UdpTransportOptions>? configure = null)
    {
        var options = new UdpTransportOptions { BindAddress = "127.0.0.1", Port = 0, ReceiveLoops = 2, Workers = 2 };
        configure?.Invoke(options);
        _transport = new UdpTransport(options, NullLogger<UdpTransport>.Instance, _meters) { Pool = _pool };
        _transport.Start(receiver);
    }

    private void Send(params byte[] datagram) => _client.SendTo(datagram, _transport!.LocalEndPoint);

    private async Task StopAndAssertBuffersReturned()
    {
        // Stopping must end the threads blocked in recvfrom; then every rented buffer is back.
        await _transport!.StopAsync().AsTask().WaitAsync(Wait);
        Assert.True(_pool.Rented > 0);
        Assert.Equal(_pool.Rented, _pool.Returned);
    }

    private sealed class Receiver : IDatagramReceiver
    {
        private readonly SemaphoreSlim _handled = new(0);
        private int _inline;

        /// <summary>Waits until the receiver was called <paramref name="calls"/> more times (inline or queued).</summary>
        public async Task HandledAsync(int calls)
        {
            for (var i = 0; i < calls; i++)
            {
                Assert.True(await _handled.WaitAsync(Wait), $"receiver call {i + 1} of {calls} did not come");
            }
        }

        public required Func<ReadOnlyMemory<byte>, bool> Inline { get; init; }
        public bool ThrowOnQueued { get; init; }
        public ManualResetEventSlim? BlockQueued { get; init; }
        public ConcurrentQueue<(byte[] Bytes, string? Thread)> Queued { get; } = new();
        public ConcurrentBag<string> InlineThreads { get; } = [];
        public int InlineCount => Volatile.Read(ref _inline);

        public bool TryReceiveInline(PeerInfo peer, ReadOnlyMemory<byte> payload)
        {
            InlineThreads.Add(Thread.CurrentThread.Name ?? "");
            try
            {
                return Inline(payload);
            }
            finally
            {
                Interlocked.Increment(ref _inline);
                _handled.Release();
            }
        }

        public void OnDatagram(PeerInfo peer, ReadOnlySpan<byte> payload)
        {
            try
            {
                BlockQueued?.Wait(Wait);
                if (ThrowOnQueued)
                {
                    throw new InvalidOperationException("queued");
                }
                Queued.Enqueue((payload.ToArray(), Thread.CurrentThread.Name));
            }
            finally
            {
                _handled.Release();
            }
        }

        public void OnPeerClosed(PeerInfo peer)
        {
        }
    }

    /// <summary>Counts rents and returns so a test can prove no buffer leaks on any path.</summary>
    private sealed class CountingPool : ArrayPool<byte>
    {
        private int _rented;
        private int _returned;

        public int Rented => Volatile.Read(ref _rented);
        public int Returned => Volatile.Read(ref _returned);

        public override byte[] Rent(int minimumLength)
        {
            Interlocked.Increment(ref _rented);
            return Shared.Rent(minimumLength);
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            Interlocked.Increment(ref _returned);
            Shared.Return(array, clearArray);
        }
    }
}
