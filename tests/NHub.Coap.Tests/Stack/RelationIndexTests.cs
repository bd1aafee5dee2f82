using Microsoft.Extensions.Time.Testing;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>The registry's per-resource and per-peer index: one relation held as itself, more as a list, and back.</summary>
public sealed class RelationIndexTests
{
    private readonly ObserveRegistry<string> _registry = new(new CoapServerOptions(), new FakeTimeProvider());

    private ObserveRelation<string> Relation(string peer, byte token) => _registry.Register(peer, [token], "/r" + token, null)!;

    [Fact]
    public void A_key_goes_from_one_relation_to_several_and_back_to_none()
    {
        var index = new RelationIndex<string, string>(StringComparer.Ordinal);
        var (a, b, c) = (Relation("a", 1), Relation("b", 2), Relation("c", 3));

        index.Add("k", a);
        Assert.Equal(1, index.Count("k"));
        Assert.Equal([a], index.Snapshot("k"));

        index.Add("k", b);
        index.Add("k", c);
        Assert.Equal(3, index.Count("k"));
        Assert.Equal([a, b, c], index.Snapshot("k"));

        index.Remove("k", b);
        index.Remove("k", a);
        Assert.Equal([c], index.Snapshot("k"));
        index.Add("k", a);
        Assert.Equal([c, a], index.Snapshot("k"));

        index.Remove("k", c);
        index.Remove("k", a);
        Assert.Equal(0, index.Count("k"));
        Assert.Empty(index.Snapshot("k"));
    }

    [Fact]
    public void Removing_a_relation_the_key_does_not_hold_changes_nothing()
    {
        var index = new RelationIndex<string, string>(StringComparer.Ordinal);
        var (a, b) = (Relation("a", 1), Relation("b", 2));
        index.Add("k", a);
        index.Remove("k", b);
        index.Remove("other", a);
        Assert.Equal([a], index.Snapshot("k"));
    }

    [Fact]
    public void Find_looks_at_a_single_relation_and_at_every_one_of_a_list()
    {
        var index = new RelationIndex<string, string>(StringComparer.Ordinal);
        var (a, b) = (Relation("a", 1), Relation("b", 2));
        index.Add("k", a);
        Assert.Same(a, index.Find("k", "/r1", static (r, path) => r.Resource == path));
        Assert.Null(index.Find("k", "/r2", static (r, path) => r.Resource == path));
        index.Add("k", b);
        Assert.Same(b, index.Find("k", "/r2", static (r, path) => r.Resource == path));
        Assert.Null(index.Find("none", "/r1", static (r, path) => r.Resource == path));
    }

    [Fact]
    public void A_snapshot_is_a_copy()
    {
        var index = new RelationIndex<string, string>(StringComparer.Ordinal);
        var (a, b) = (Relation("a", 1), Relation("b", 2));
        index.Add("k", a);
        index.Add("k", b);
        var snapshot = index.Snapshot("k");
        index.Remove("k", a);
        Assert.Equal([a, b], snapshot);
    }
}
