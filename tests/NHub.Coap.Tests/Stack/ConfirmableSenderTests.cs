using Microsoft.Extensions.Time.Testing;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>RFC 7252 §4.2 retransmission and §4.7 NSTART for the server's own confirmable messages.</summary>
public sealed class ConfirmableSenderTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<(string Peer, byte Tag, TimeSpan At)> _sent = [];
    private readonly DateTimeOffset _start;

    public ConfirmableSenderTests() => _start = _time.GetUtcNow();

    private ConfirmableSender<string> Create(Action<CoapServerOptions>? configure = null)
    {
        var options = new CoapServerOptions();
        configure?.Invoke(options);
        return new ConfirmableSender<string>(options, _time, (peer, bytes) =>
        {
            _sent.Add((peer, bytes.Span[0], _time.GetUtcNow() - _start));
            return true;
        });
    }

    private void AdvanceSeconds(double seconds, double step = 0.05)
    {
        for (var t = 0.0; t < seconds; t += step)
        {
            _time.Advance(TimeSpan.FromSeconds(step));
        }
    }

    [Fact]
    public void Retransmissions_start_within_the_random_window_and_double_until_max_retransmit()
    {
        // Many messages, one per peer: each first timeout is in [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR] = [2 s, 3 s],
        // then each interval doubles; after MAX_RETRANSMIT (4) retransmissions the exchange times out.
        using var sender = Create();
        var outcomes = new Dictionary<string, ConfirmableOutcome>();
        for (var i = 0; i < 20; i++)
        {
            var peer = "p" + i;
            Assert.True(sender.Send(peer, 1, [(byte)i], o => outcomes[peer] = o));
        }
        _time.Advance(TimeSpan.FromMilliseconds(1)); // the step granularity below is 1 ms
        for (var ms = 0; ms < 100_000; ms++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        var firstTimeouts = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var times = _sent.Where(s => s.Peer == "p" + i).Select(s => s.At.TotalSeconds).ToArray();
            Assert.Equal(5, times.Length); // the original and four retransmissions
            var initial = times[1] - times[0];
            Assert.InRange(initial, 2.0, 3.0);
            firstTimeouts.Add(initial);
            for (var k = 2; k < times.Length; k++)
            {
                // Each interval is twice the previous one (within the 1 ms steps of the fake clock).
                var expected = 2 * (times[k - 1] - times[k - 2]);
                Assert.InRange(times[k] - times[k - 1], expected - 0.004, expected + 0.004);
            }
            Assert.Equal(ConfirmableOutcome.TimedOut, outcomes["p" + i]);
        }
        Assert.True(firstTimeouts.Max() - firstTimeouts.Min() > 0.01, "the initial timeout is randomized");
        Assert.Equal(80, sender.RetransmissionsSent);
        Assert.Equal(0, sender.Count);
    }

    [Fact]
    public void An_ack_or_reset_ends_retransmission_with_its_outcome()
    {
        using var sender = Create();
        var outcomes = new List<ConfirmableOutcome>();
        sender.Send("a", 10, [1], outcomes.Add);
        sender.Send("b", 11, [2], outcomes.Add);
        Assert.True(sender.OnAcknowledgement("a", 10));
        Assert.True(sender.OnReset("b", 11));
        Assert.False(sender.OnAcknowledgement("a", 10)); // already ended
        Assert.False(sender.OnAcknowledgement("b", 10)); // matched by (peer, message id), not id alone
        AdvanceSeconds(100, 1);
        Assert.Equal([ConfirmableOutcome.Acknowledged, ConfirmableOutcome.Reset], outcomes);
        Assert.Equal(2, _sent.Count); // no retransmission
    }

    [Fact]
    public void Nstart_1_holds_a_second_message_to_the_same_peer_until_the_first_ends()
    {
        using var sender = Create();
        var outcomes = new List<(byte, ConfirmableOutcome)>();
        sender.Send("a", 1, [1], o => outcomes.Add((1, o)));
        sender.Send("a", 2, [2], o => outcomes.Add((2, o)));
        sender.Send("b", 3, [3], o => outcomes.Add((3, o))); // another peer is not held back
        Assert.Equal([(byte)1, (byte)3], _sent.Select(s => s.Tag));
        Assert.Equal(1, sender.Queued);
        Assert.False(sender.OnAcknowledgement("a", 2)); // never sent, so an ACK cannot be for it

        Assert.True(sender.OnAcknowledgement("a", 1));
        Assert.Equal([(byte)1, (byte)3, (byte)2], _sent.Select(s => s.Tag));
        Assert.Equal(0, sender.Queued);
        Assert.True(sender.OnAcknowledgement("a", 2));
        Assert.Equal([(1, ConfirmableOutcome.Acknowledged), (2, ConfirmableOutcome.Acknowledged)], outcomes);
    }

    [Fact]
    public void A_timed_out_message_releases_the_next_one()
    {
        using var sender = Create(o => o.MaxRetransmit = 0);
        var outcomes = new List<ConfirmableOutcome>();
        sender.Send("a", 1, [1], outcomes.Add);
        sender.Send("a", 2, [2], outcomes.Add);
        AdvanceSeconds(3.1);
        Assert.Equal([ConfirmableOutcome.TimedOut], outcomes);
        Assert.Equal([(byte)1, (byte)2], _sent.Select(s => s.Tag));
    }

    [Fact]
    public void The_wait_queue_per_peer_and_the_total_are_capped()
    {
        using var sender = Create(o =>
        {
            o.MaxQueuedConfirmablesPerPeer = 2;
            o.MaxOutstandingConfirmables = 5;
        });
        Assert.True(sender.Send("a", 1, [1], null));
        Assert.True(sender.Send("a", 2, [2], null));
        Assert.True(sender.Send("a", 3, [3], null));
        Assert.False(sender.Send("a", 4, [4], null)); // two already waiting
        Assert.True(sender.Send("b", 1, [5], null));
        Assert.False(sender.Send("b", 1, [5], null)); // (peer, message id) already outstanding
        Assert.True(sender.Send("c", 1, [6], null));
        Assert.False(sender.Send("d", 1, [7], null)); // five outstanding in total
        Assert.Equal(5, sender.Count);
    }

    [Fact]
    public void Cancelling_a_waiting_message_means_it_is_never_sent()
    {
        using var sender = Create();
        var outcomes = new List<ConfirmableOutcome>();
        sender.Send("a", 1, [1], null);
        sender.Send("a", 2, [2], outcomes.Add);
        sender.Send("a", 3, [3], null);
        Assert.True(sender.Cancel("a", 2));
        Assert.Equal([ConfirmableOutcome.Cancelled], outcomes);
        sender.OnAcknowledgement("a", 1);
        Assert.Equal([(byte)1, (byte)3], _sent.Select(s => s.Tag));
    }

    [Fact]
    public void Cancelling_a_peer_ends_everything_it_has_outstanding()
    {
        using var sender = Create();
        var outcomes = new List<ConfirmableOutcome>();
        sender.Send("a", 1, [1], outcomes.Add);
        sender.Send("a", 2, [2], outcomes.Add);
        sender.Send("b", 1, [3], null);
        sender.CancelPeer("a");
        Assert.Equal([ConfirmableOutcome.Cancelled, ConfirmableOutcome.Cancelled], outcomes);
        Assert.Equal(1, sender.Count);
        AdvanceSeconds(4, 1);
        Assert.DoesNotContain(_sent, s => s.Peer == "a" && s.Tag == 2);
        Assert.Contains(_sent, s => s.Peer == "b" && s.At > TimeSpan.Zero); // b is still retransmitted
    }

    [Fact]
    public void Message_ids_count_up_per_peer_from_a_random_start()
    {
        var ids = new MessageIdAllocator<string>(maxPeers: 4);
        var first = ids.Next("a");
        Assert.Equal((ushort)(first + 1), ids.Next("a"));
        Assert.Equal((ushort)(first + 2), ids.Next("a"));
        for (var i = 0; i < 100; i++)
        {
            ids.Next("other" + i);
        }
        Assert.InRange(ids.Count, 1, 8); // two generations of at most 4
    }

    [Fact]
    public void A_peer_seen_in_every_generation_keeps_its_counter()
    {
        var ids = new MessageIdAllocator<string>(maxPeers: 2);
        var next = ids.Next("busy");
        for (var i = 0; i < 50; i++)
        {
            ids.Next("idle" + i);
            Assert.Equal((ushort)(next + 1), ids.Next("busy"));
            next++;
        }
    }

    [Fact]
    public void A_peer_reachable_again_gets_its_message_in_flight_now_and_a_fresh_retransmission_schedule()
    {
        using var sender = Create();
        var outcome = (ConfirmableOutcome?)null;
        Assert.True(sender.Send("dev", 1, [7], o => outcome = o));
        Assert.True(sender.Send("other", 1, [8], null));
        AdvanceSeconds(3.1);  // first retransmission (at T = 2-3 s) went out, to the old address
        AdvanceSeconds(2.8);  // the next is due at 3T >= 6 s: not yet
        var before = _sent.Count(s => s.Peer == "dev");
        var otherBefore = _sent.Count(s => s.Peer == "other");
        Assert.Equal(2, before);

        Assert.Equal(1, sender.RetransmitNow("dev"));
        Assert.Equal(before + 1, _sent.Count(s => s.Peer == "dev"));
        Assert.Equal(otherBefore, _sent.Count(s => s.Peer == "other")); // only the peer that came back
        Assert.Equal(0, sender.RetransmitNow("nobody"));

        // The schedule restarted: the next retransmission comes 2-3 s after the expedited one, then doubles, and the
        // message gets MAX_RETRANSMIT more before it times out.
        var expedited = _sent.Last(s => s.Peer == "dev").At;
        AdvanceSeconds(3.05);
        var next = _sent.Last(s => s.Peer == "dev").At;
        Assert.InRange((next - expedited).TotalSeconds, 2.0, 3.05);
        Assert.Null(outcome);
        AdvanceSeconds(100);
        Assert.Equal(ConfirmableOutcome.TimedOut, outcome);
        Assert.Equal(before + 1 + 4, _sent.Count(s => s.Peer == "dev"));
    }
}
