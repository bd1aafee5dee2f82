using System.Text;
using NHub.Gateway.Tests.Support;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>
/// Where a decrypted request is handed to the CoAP layer: what it answers synchronously on the receive loop, the rest
/// on workers on the thread pool (ReceiveQueue.cs says why), with a bounded queue in between (Gateway:Dtls:DeliveryQueueCapacity).
/// </summary>
public sealed class DtlsRequestDeliveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_request_answered_synchronously_is_answered_on_the_receive_loop()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);

        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));

        var thread = Assert.Single(server.Receiver.Threads);
        Assert.StartsWith("dtls-receive-", thread.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_the_layer_above_does_not_take_inline_starts_on_a_thread_pool_thread()
    {
        await using var server = new DtlsServerHarness();
        server.Receiver.AnswerInline = false;
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);

        for (ushort mid = 1; mid <= 3; mid++)
        {
            var answer = client.Exchange(EchoCoapReceiver.Request(mid, "x"u8));
            Assert.EndsWith("ok:x", Encoding.ASCII.GetString(answer!), StringComparison.Ordinal);
        }

        Assert.All(server.Receiver.Threads, thread =>
        {
            // Orleans' per-call objects are pooled per thread: started here, they are taken and given back on pool threads.
            Assert.True(thread.IsThreadPoolThread, $"ran on {thread.Name}");
            Assert.False(thread.Name?.StartsWith("dtls-", StringComparison.Ordinal) ?? false);
        });
        Assert.Equal(3, server.Receiver.Threads.Count);
    }

    [Fact]
    public async Task Past_the_delivery_queue_records_are_dropped_and_counted_and_the_queued_ones_are_all_delivered()
    {
        const int Capacity = 16;
        const int Sent = 24;
        await using var server = new DtlsServerHarness(o =>
        {
            o.DeliveryQueueCapacity = Capacity;
            o.Workers = 1;
        });
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        using var backend = new ManualResetEventSlim(false);
        server.Receiver.AnswerInline = false;
        server.Receiver.Gate = backend;

        // The first record is taken by the only worker, held up there by the backend; of the rest 16 wait in the
        // queue and the others overflow.
        client.Session.Send(EchoCoapReceiver.Request(1), 0, EchoCoapReceiver.Request(1).Length);
        Assert.True(SpinWait.SpinUntil(() => server.Receiver.Threads.Count == 1, Wait), "the worker did not take the first record");
        for (ushort mid = 2; mid <= Sent; mid++)
        {
            client.Session.Send(EchoCoapReceiver.Request(mid), 0, EchoCoapReceiver.Request(mid).Length);
        }
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "queue_full") == Sent - Capacity - 1, Wait,
            "the records past the queue");

        backend.Set();
        var answers = new HashSet<int>();
        while (answers.Count < Capacity + 1 && client.ReceiveOne(5000) is { } datagram)
        {
            answers.Add(datagram[2] << 8 | datagram[3]);
        }
        Assert.Equal(Capacity + 1, answers.Count);
        Assert.Equal(Enumerable.Range(1, Capacity + 1).ToHashSet(), answers); // the oldest were kept: tail drop
        Assert.Equal(Capacity + 1, server.Receiver.Datagrams);
        Assert.Equal(Sent - Capacity - 1, server.Meters.Total("nhub.dtls.records.dropped", "reason", "queue_full"));

        // Drained: the queue takes requests again.
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(100)));
    }
}
