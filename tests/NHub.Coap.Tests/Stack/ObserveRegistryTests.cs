using Microsoft.Extensions.Time.Testing;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>RFC 7641 relation bookkeeping, without a server around it.</summary>
public sealed class ObserveRegistryTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<(ObserveRelation<string> Relation, RelationEndReason Reason)> _ended = [];

    private ObserveRegistry<string> Create(Action<CoapServerOptions>? configure = null)
    {
        var options = new CoapServerOptions();
        configure?.Invoke(options);
        var registry = new ObserveRegistry<string>(options, _time);
        registry.RelationEnded += (r, reason) => _ended.Add((r, reason));
        return registry;
    }

    [Fact]
    public void Relations_are_found_by_peer_and_token_and_by_resource()
    {
        var registry = Create();
        var a = registry.Register("a", [1], "/t", accept: 50)!;
        var b = registry.Register("b", [1], "/t", accept: null)!;
        Assert.Same(a, registry.Find("a", [1]));
        Assert.Same(b, registry.Find("b", [1]));
        Assert.Null(registry.Find("a", [2]));
        Assert.Equal(2, registry.ForResource("/t").Count);
        Assert.Equal(50, a.Accept);
        Assert.Empty(registry.ForResource("/other"));
    }

    [Fact]
    public void Sequence_numbers_increase_and_wrap_at_24_bits()
    {
        // RFC 7641 §3.4/§4.4: the Observe value is a 24-bit sequence number; freshness is judged modulo 2^23.
        var registry = Create();
        var r = registry.Register("a", [1], "/t", null)!;
        var first = registry.NextNotification(r, false).Sequence;
        Assert.Equal(first + 1, registry.NextNotification(r, false).Sequence);
        r.Sequence = 0xFFFFFF;
        Assert.Equal(0u, registry.NextNotification(r, false).Sequence);
        Assert.Equal(0u, registry.CurrentSequence(r));
    }

    [Fact]
    public void One_notification_in_n_is_confirmable_and_so_is_the_first_after_24_hours()
    {
        // RFC 7641 §4.5: a server sends a confirmable notification at least every 24 hours (and here every 3rd).
        var registry = Create(o => o.ConfirmableNotificationEvery = 3);
        var r = registry.Register("a", [1], "/t", null)!;
        var kinds = Enumerable.Range(0, 6).Select(_ => registry.NextNotification(r, false).Confirmable).ToArray();
        Assert.Equal([false, false, true, false, false, true], kinds);

        _time.Advance(TimeSpan.FromHours(24));
        Assert.True(registry.NextNotification(r, false).Confirmable);
        Assert.False(registry.NextNotification(r, false).Confirmable);
        Assert.True(registry.NextNotification(r, forceConfirmable: true).Confirmable);
    }

    [Fact]
    public void A_new_registration_for_the_same_resource_replaces_the_old_relation()
    {
        // RFC 7641 §4.1: a client that registers again for the same resource is the same observer.
        var registry = Create();
        var old = registry.Register("a", [1], "/t", null)!;
        var renewed = registry.Register("a", [2], "/t", null)!;
        Assert.False(old.IsActive);
        Assert.True(renewed.IsActive);
        Assert.Equal(RelationEndReason.Replaced, Assert.Single(_ended).Reason);
        Assert.Equal(1, registry.Count);
    }

    [Fact]
    public void Caps_per_peer_and_in_total_refuse_new_relations()
    {
        var registry = Create(o =>
        {
            o.MaxObserveRelationsPerPeer = 2;
            o.MaxObserveRelations = 3;
        });
        Assert.NotNull(registry.Register("a", [1], "/1", null));
        Assert.NotNull(registry.Register("a", [2], "/2", null));
        Assert.Null(registry.Register("a", [3], "/3", null));
        Assert.NotNull(registry.Register("b", [1], "/1", null));
        Assert.Null(registry.Register("c", [1], "/1", null));
        Assert.Equal(3, registry.Count);
    }

    [Fact]
    public void Removing_a_peer_ends_its_relations_once()
    {
        var registry = Create();
        var r = registry.Register("a", [1], "/1", null)!;
        registry.Register("a", [2], "/2", null);
        registry.Register("b", [1], "/1", null);
        registry.RemovePeer("a", RelationEndReason.PeerClosed);
        Assert.Equal(2, _ended.Count);
        Assert.All(_ended, e => Assert.Equal(RelationEndReason.PeerClosed, e.Reason));
        Assert.False(registry.Remove(r, RelationEndReason.Removed));
        Assert.Equal(1, registry.Count);
    }

    [Fact]
    public void A_reset_is_matched_to_the_relation_of_the_last_non_confirmable_notification()
    {
        var registry = Create();
        var r = registry.Register("a", [1], "/1", null)!;
        r.LastNonConfirmable = 0x1234;
        Assert.Same(r, registry.FindByNonConfirmable("a", 0x1234));
        Assert.Null(registry.FindByNonConfirmable("b", 0x1234));
    }
}
