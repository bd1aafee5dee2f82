using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The outgoing sequence numbers of a stored session: never one at or past the durable limit (docs/dtls-sequence-reservation.md).</summary>
public sealed class SequenceReservationTests
{
    [Fact]
    public void Numbers_stop_at_the_durable_limit_and_an_extension_is_asked_for_once_at_half_a_block()
    {
        var reservation = new SequenceReservation(next: 1, limit: 9, blockSize: 8);
        var asked = 0;
        var taken = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            if (reservation.TryTake(out var sequence, out var extend))
            {
                taken.Add(sequence);
            }
            asked += extend ? 1 : 0;
        }
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], taken);
        Assert.Equal(1, asked);
        Assert.Equal(17, reservation.PendingLimit);

        reservation.Extended(17);
        Assert.True(reservation.TryTake(out var next, out _));
        Assert.Equal(9, next);
        Assert.Equal(0, reservation.PendingLimit);
    }

    [Fact]
    public void A_failed_extension_is_asked_for_again_and_a_late_smaller_confirmation_never_lowers_the_limit()
    {
        var reservation = new SequenceReservation(0, 4, 4);
        Assert.True(reservation.TryTake(out _, out _));
        Assert.True(reservation.TryTake(out _, out var extend));
        Assert.True(extend);
        reservation.ExtensionFailed();
        Assert.True(reservation.TryTake(out _, out extend));
        Assert.True(extend);
        reservation.Extended(12);
        reservation.Extended(8);
        Assert.Equal(12, reservation.Limit);
    }

    [Fact]
    public void A_takeover_continues_past_every_number_the_previous_owner_could_have_used()
    {
        // The previous owner had the durable limit 100 and was killed somewhere below it.
        var previous = new SequenceReservation(0, 100, 64);
        while (previous.TryTake(out _, out _) && previous.Next < 77)
        {
        }
        // The store hands the new owner [100, 100 + block).
        var next = new SequenceReservation(previous.Limit, previous.Limit + 64, 64);
        Assert.True(next.TryTake(out var first, out _));
        Assert.True(first >= previous.Limit);
        Assert.True(first > previous.Next - 1);
    }

    [Fact]
    public void The_48_bit_space_ends_without_wrapping()
    {
        var reservation = new SequenceReservation(SequenceReservation.MaxSequence, SequenceReservation.MaxSequence + 1, 64);
        Assert.True(reservation.TryTake(out var last, out _));
        Assert.Equal(SequenceReservation.MaxSequence, last);
        Assert.False(reservation.TryTake(out _, out var extend));
        Assert.False(extend);
    }
}
