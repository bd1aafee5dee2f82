using Microsoft.Extensions.Time.Testing;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>RFC 7252 §4.5 de-duplication, driven directly with a fake clock.</summary>
public sealed class MessageDeduplicatorTests
{
    private readonly FakeTimeProvider _time = new();

    private MessageDeduplicator<string> Create(Action<CoapServerOptions>? configure = null)
    {
        var options = new CoapServerOptions();
        configure?.Invoke(options);
        return new MessageDeduplicator<string>(options, _time);
    }

    [Fact]
    public void A_message_id_goes_from_new_to_in_progress_to_completed_with_its_cached_response()
    {
        var dedup = Create();
        Assert.Equal(DedupState.New, dedup.Lookup("a", 1, confirmable: true, 0, out _));
        Assert.Equal(DedupState.InProgress, dedup.Lookup("a", 1, confirmable: true, 0, out var cached));
        Assert.Null(cached);
        dedup.Complete("a", 1, 0, [1, 2, 3]);
        Assert.Equal(DedupState.Completed, dedup.Lookup("a", 1, confirmable: true, 0, out cached));
        Assert.Equal(new byte[] { 1, 2, 3 }, cached);
        Assert.Equal(DedupState.New, dedup.Lookup("b", 1, confirmable: true, 0, out _));
    }

    [Fact]
    public void Confirmable_ids_live_exchange_lifetime_and_non_confirmable_ones_non_lifetime()
    {
        var dedup = Create();
        dedup.Lookup("a", 1, confirmable: true, 0, out _);
        dedup.Lookup("a", 2, confirmable: false, 0, out _);

        _time.Advance(TimeSpan.FromSeconds(144));
        Assert.Equal(DedupState.InProgress, dedup.Lookup("a", 2, confirmable: false, 0, out _));
        _time.Advance(TimeSpan.FromSeconds(1)); // NON_LIFETIME 145 s
        Assert.Equal(DedupState.New, dedup.Lookup("a", 2, confirmable: false, 0, out _));

        _time.Advance(TimeSpan.FromSeconds(101)); // 246 s
        Assert.Equal(DedupState.InProgress, dedup.Lookup("a", 1, confirmable: true, 0, out _));
        _time.Advance(TimeSpan.FromSeconds(1)); // EXCHANGE_LIFETIME 247 s
        Assert.Equal(DedupState.New, dedup.Lookup("a", 1, confirmable: true, 0, out _));
    }

    [Fact]
    public void Sweep_releases_expired_entries_and_their_peers()
    {
        var dedup = Create();
        for (ushort mid = 0; mid < 100; mid++)
        {
            dedup.Lookup("peer" + (mid % 10), mid, confirmable: mid % 2 == 0, 0, out _);
        }
        Assert.Equal(100, dedup.Count);
        Assert.Equal(10, dedup.PeerCount);
        _time.Advance(TimeSpan.FromSeconds(146));
        Assert.Equal(50, dedup.Sweep()); // the NON half
        _time.Advance(TimeSpan.FromSeconds(101));
        Assert.Equal(50, dedup.Sweep());
        Assert.Equal(0, dedup.Count);
        Assert.Equal(0, dedup.PeerCount);
    }

    [Fact]
    public void A_peer_over_its_cap_forgets_its_oldest_ids_first()
    {
        var dedup = Create(o => o.MaxDedupEntriesPerPeer = 3);
        for (ushort mid = 1; mid <= 5; mid++)
        {
            dedup.Lookup("a", mid, confirmable: true, 0, out _);
        }
        dedup.Lookup("b", 1, confirmable: true, 0, out _);
        Assert.Equal(4, dedup.Count);
        Assert.Equal(DedupState.InProgress, dedup.Lookup("a", 5, true, 0, out _));
        Assert.Equal(DedupState.InProgress, dedup.Lookup("a", 3, true, 0, out _));
        Assert.Equal(DedupState.New, dedup.Lookup("a", 1, true, 0, out _)); // forgotten; now remembered again, evicting 3
        Assert.Equal(DedupState.New, dedup.Lookup("a", 3, true, 0, out _));
        Assert.Equal(DedupState.InProgress, dedup.Lookup("b", 1, true, 0, out _)); // the other peer is untouched
    }

    [Fact]
    public void The_global_cap_forgets_the_oldest_entry_of_any_peer_and_type()
    {
        var dedup = Create(o => o.MaxDedupEntries = 64);
        dedup.Lookup("old", 1, confirmable: false, 0, out _);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        for (ushort mid = 0; mid < 64; mid++)
        {
            dedup.Lookup("p" + mid, mid, confirmable: true, 0, out _);
        }
        Assert.Equal(64, dedup.Count);
        Assert.Equal(DedupState.New, dedup.Lookup("old", 1, confirmable: false, 0, out _));
        Assert.Equal(64, dedup.Count);
        Assert.Equal(DedupState.New, dedup.Lookup("p0", 0, confirmable: true, 0, out _)); // the next oldest went
    }

    [Fact]
    public void Forget_lets_a_retransmission_be_processed_again()
    {
        var dedup = Create();
        dedup.Lookup("a", 7, true, 0, out _);
        dedup.Forget("a", 7);
        Assert.Equal(0, dedup.PeerCount);
        Assert.Equal(DedupState.New, dedup.Lookup("a", 7, true, 0, out _));
        dedup.Complete("zzz", 1, 0, [1]); // unknown: ignored
    }

    [Fact]
    public void Memory_stays_at_the_cap_under_a_flood_from_one_peer()
    {
        // Every entry is linked in its peer's list and its lifetime list, so evicted entries leave nothing behind.
        var dedup = Create(o => o.MaxDedupEntriesPerPeer = 16);
        for (var i = 0; i < 200_000; i++)
        {
            dedup.Lookup("flood", (ushort)i, confirmable: true, 0, out _);
        }
        Assert.Equal(16, dedup.Count);
        _time.Advance(TimeSpan.FromSeconds(300));
        Assert.Equal(16, dedup.Sweep());
    }

    [Fact]
    public void A_message_id_reused_with_other_content_is_a_new_message_and_the_old_answer_is_not_replayed()
    {
        // RFC 7252 §4.2: a retransmission is the same message; a device that restarted its message-id counter (a
        // rebooted plain-CoAP device on the same address and port) sends other content under a remembered id.
        var dedup = Create();
        Assert.Equal(DedupState.New, dedup.Lookup("a", 1, confirmable: true, fingerprint: 11, out _));
        dedup.Complete("a", 1, 11, [1]);
        Assert.Equal(DedupState.Completed, dedup.Lookup("a", 1, confirmable: true, fingerprint: 11, out var cached));
        Assert.Equal(new byte[] { 1 }, cached);

        Assert.Equal(DedupState.Reused, dedup.Lookup("a", 1, confirmable: true, fingerprint: 22, out cached));
        Assert.Null(cached);
        Assert.Equal(1, dedup.Count);
        // The new message's retransmission is its duplicate; the old content now counts as yet another message.
        Assert.Equal(DedupState.InProgress, dedup.Lookup("a", 1, confirmable: true, fingerprint: 22, out _));
    }

    [Fact]
    public void The_answer_of_a_message_whose_id_was_reused_meanwhile_does_not_complete_the_new_one()
    {
        var dedup = Create();
        dedup.Lookup("a", 1, confirmable: true, fingerprint: 11, out _);
        dedup.Lookup("a", 1, confirmable: true, fingerprint: 22, out _); // reused while the first was processed
        dedup.Complete("a", 1, 11, [1]); // the first one's answer arrives late
        Assert.Equal(DedupState.InProgress, dedup.Lookup("a", 1, confirmable: true, fingerprint: 22, out var cached));
        Assert.Null(cached);
        dedup.Complete("a", 1, 22, [2]);
        Assert.Equal(DedupState.Completed, dedup.Lookup("a", 1, confirmable: true, fingerprint: 22, out cached));
        Assert.Equal(new byte[] { 2 }, cached);
    }
}
