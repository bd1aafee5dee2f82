using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The order rules that tell a rejected client Finished from one BouncyCastle dropped for other reasons.</summary>
public sealed class FinishedWatchTests
{
    private static readonly byte[] KeyExchange = DtlsWire.Record(22, epoch: 0, sequence: 2, [16, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0, 3, 0, 1, 0x61]);
    private static readonly byte[] ChangeCipherSpec = DtlsWire.Record(20, epoch: 0, sequence: 3, [1]);
    private static readonly byte[] Finished = DtlsWire.Record(22, epoch: 1, sequence: 0, DtlsWire.RandomBytes(40));

    [Fact]
    public void Key_exchange_change_cipher_spec_and_finished_in_one_datagram_wait_for_an_answer()
    {
        var watch = new FinishedWatch();

        watch.OnServed([.. KeyExchange, .. ChangeCipherSpec, .. Finished]);

        Assert.True(watch.Unanswered);
        watch.OnSent();
        Assert.False(watch.Unanswered);
    }

    [Fact]
    public void The_same_flight_in_three_datagrams_waits_for_an_answer()
    {
        var watch = new FinishedWatch();

        watch.OnServed(KeyExchange);
        watch.OnServed(ChangeCipherSpec);
        Assert.False(watch.Unanswered);
        watch.OnServed(Finished);

        Assert.True(watch.Unanswered);
    }

    [Fact]
    public void A_finished_before_the_change_cipher_spec_or_without_the_key_exchange_is_not_judged()
    {
        var reordered = new FinishedWatch();
        reordered.OnServed(KeyExchange);
        reordered.OnServed(Finished); // BouncyCastle drops it for its epoch, not its MAC
        reordered.OnServed(ChangeCipherSpec);
        Assert.False(reordered.Unanswered);

        var lostKeyExchange = new FinishedWatch();
        lostKeyExchange.OnServed([.. ChangeCipherSpec, .. Finished]);
        Assert.False(lostKeyExchange.Unanswered);
    }

    [Fact]
    public void A_truncated_record_ends_the_walk()
    {
        var watch = new FinishedWatch();

        watch.OnServed([.. KeyExchange, .. ChangeCipherSpec, .. Finished.AsSpan(0, Finished.Length - 1)]);

        Assert.False(watch.Unanswered);
    }
}
