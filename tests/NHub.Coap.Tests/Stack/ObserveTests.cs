using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>Lockstep Observe exchanges after RFC 7641 (Figure 2/3 style).</summary>
public sealed class ObserveTests
{
    private static (StackHarness H, List<(ObserveRelation<string> Relation, RelationEndReason Reason)> Ended) Setup(Action<CoapServerOptions>? configure = null)
    {
        var h = new StackHarness(configure);
        h.Router.Map(CoapCode.Get, "/temperature", ctx => ValueTask.FromResult(new CoapResponse(CoapCode.Content)
        {
            Payload = "22.9 C"u8.ToArray(),
            Observe = ctx.IsObserveRegistration,
        }), new ResourceDescription(Observable: true));
        var ended = new List<(ObserveRelation<string>, RelationEndReason)>();
        h.Server.Observers.RelationEnded += (r, reason) => ended.Add((r, reason));
        return (h, ended);
    }

    private static CoapMessage Register(ushort mid, byte[] token, uint observe = 0)
    {
        var m = StackHarness.Con(CoapCode.Get, "/temperature", mid, token);
        m.Observe = observe;
        return m;
    }

    [Fact]
    public async Task Registration_notifications_with_increasing_sequence_and_reset_cancels()
    {
        // RFC 7641 Figure 2: GET Observe:0 → 2.05 Observe:n; later 2.05 Observe:n+1 …; RST on a notification ends it.
        var (h, ended) = Setup();
        h.Receive("client", Register(0x10, [0x4A]));
        var registered = await h.NextAsync();
        Assert.Equal(CoapCode.Content, registered.Code);
        Assert.NotNull(registered.Observe);
        var relation = Assert.Single(h.Server.Observers.ForResource("/temperature"));

        var outcomes = new List<ConfirmableOutcome>();
        Assert.True(h.Server.Notify(relation, new CoapResponse(CoapCode.Content) { Payload = "23.0 C"u8.ToArray() }, forceConfirmable: true, outcomes.Add));
        var n1 = await h.NextAsync();
        Assert.Equal(CoapMessageType.Confirmable, n1.Type);
        Assert.Equal(new byte[] { 0x4A }, n1.Token.ToArray());
        Assert.True(n1.Observe > registered.Observe);
        h.Receive("client", StackHarness.Empty(CoapMessageType.Acknowledgement, n1.MessageId));
        Assert.Equal([ConfirmableOutcome.Acknowledged], outcomes);

        h.Server.Notify(relation, new CoapResponse(CoapCode.Content) { Payload = "23.1 C"u8.ToArray() }, forceConfirmable: true, outcomes.Add);
        var n2 = await h.NextAsync();
        Assert.True(n2.Observe > n1.Observe);
        h.Receive("client", StackHarness.Empty(CoapMessageType.Reset, n2.MessageId));
        Assert.Equal(ConfirmableOutcome.Reset, outcomes[^1]);
        Assert.Equal(RelationEndReason.Reset, Assert.Single(ended).Reason);
        Assert.Equal(0, h.Server.Observers.Count);
    }

    [Fact]
    public async Task The_handler_learns_when_its_relation_exists_and_when_it_was_refused()
    {
        // A handler that hands out the relation to others (the commands resource: the twin pushes as soon as it
        // records the observation) must know the moment notifications can be sent, and that a refused one never will.
        var h = new StackHarness(o => o.MaxObserveRelationsPerPeer = 1);
        var calls = new List<(bool Registered, int RelationsThen)>();
        foreach (var path in new[] { "/temperature", "/humidity" })
        {
            h.Router.Map(CoapCode.Get, path, ctx => ValueTask.FromResult(new CoapResponse(CoapCode.Content)
            {
                Payload = "22.9"u8.ToArray(),
                Observe = ctx.IsObserveRegistration,
                OnObserveRegistered = registered => calls.Add((registered, h.Server.Observers.Count)),
            }), new ResourceDescription(Observable: true));
        }

        h.Receive("client", Register(1, [1]));
        Assert.NotNull((await h.NextAsync()).Observe);
        var second = StackHarness.Con(CoapCode.Get, "/humidity", 2, [2]); // over MaxObserveRelationsPerPeer
        second.Observe = 0;
        h.Receive("client", second);
        Assert.Null((await h.NextAsync()).Observe);
        h.Receive("client", StackHarness.Con(CoapCode.Get, "/temperature", 3, [3])); // no registration: no call
        await h.NextAsync();

        Assert.Equal([(true, 1), (false, 1)], calls);
    }

    [Fact]
    public async Task A_get_without_observe_or_with_observe_1_deregisters()
    {
        var (h, ended) = Setup();
        h.Receive("client", Register(1, [1]));
        await h.NextAsync();
        h.Receive("client", StackHarness.Con(CoapCode.Get, "/temperature", 2, [9])); // plain GET (the device guide)
        var plain = await h.NextAsync();
        Assert.Null(plain.Observe);
        Assert.Equal(RelationEndReason.Deregistered, Assert.Single(ended).Reason);

        h.Receive("client", Register(3, [2]));
        await h.NextAsync();
        h.Receive("client", Register(4, [2], observe: 1));
        await h.NextAsync();
        Assert.Equal(2, ended.Count);
        Assert.Equal(0, h.Server.Observers.Count);
    }

    [Fact]
    public async Task An_unacknowledged_confirmable_notification_removes_the_relation()
    {
        var (h, ended) = Setup();
        h.Receive("client", Register(1, [1]));
        await h.NextAsync();
        var relation = Assert.Single(h.Server.Observers.ForResource("/temperature"));
        ConfirmableOutcome? outcome = null;
        h.Server.Notify(relation, new CoapResponse(CoapCode.Content), forceConfirmable: true, o => outcome = o);
        await h.NextAsync();
        for (var i = 0; i < 5; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(60));
        }
        Assert.Equal(ConfirmableOutcome.TimedOut, outcome);
        Assert.Equal(RelationEndReason.NotificationFailed, Assert.Single(ended).Reason);
    }

    [Fact]
    public async Task A_newer_notification_supersedes_one_still_in_flight()
    {
        var (h, _) = Setup();
        h.Receive("client", Register(1, [1]));
        await h.NextAsync();
        var relation = Assert.Single(h.Server.Observers.ForResource("/temperature"));
        var first = new List<ConfirmableOutcome>();
        h.Server.Notify(relation, new CoapResponse(CoapCode.Content) { Payload = "old"u8.ToArray() }, true, first.Add);
        var old = await h.NextAsync();
        h.Server.Notify(relation, new CoapResponse(CoapCode.Content) { Payload = "new"u8.ToArray() }, true);
        var newer = await h.NextAsync();
        Assert.Equal([ConfirmableOutcome.Cancelled], first);
        Assert.NotEqual(old.MessageId, newer.MessageId);
        Assert.Equal(1, h.Server.Confirmables.Count);

        // No retransmission of the superseded one: after the first timeout only the newer is resent.
        h.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(newer.MessageId, (await h.NextAsync()).MessageId);
        Assert.True(h.NothingSent);
    }

    [Fact]
    public async Task At_least_one_notification_in_n_is_confirmable_and_an_rst_to_a_non_one_cancels()
    {
        var (h, ended) = Setup(o => o.ConfirmableNotificationEvery = 3);
        h.Receive("client", Register(1, [1]));
        await h.NextAsync();
        var relation = Assert.Single(h.Server.Observers.ForResource("/temperature"));
        var types = new List<CoapMessageType>();
        for (var i = 0; i < 6; i++)
        {
            h.Server.Notify(relation, new CoapResponse(CoapCode.Content), forceConfirmable: false);
            var n = await h.NextAsync();
            types.Add(n.Type);
            if (n.Type == CoapMessageType.Confirmable)
            {
                h.Receive("client", StackHarness.Empty(CoapMessageType.Acknowledgement, n.MessageId));
            }
        }
        Assert.Equal(2, types.Count(t => t == CoapMessageType.Confirmable));

        h.Server.Notify(relation, new CoapResponse(CoapCode.Content), forceConfirmable: false);
        var non = await h.NextAsync();
        Assert.Equal(CoapMessageType.NonConfirmable, non.Type);
        h.Receive("client", StackHarness.Empty(CoapMessageType.Reset, non.MessageId));
        Assert.Equal(RelationEndReason.Reset, Assert.Single(ended).Reason);
    }

    [Fact]
    public async Task Relations_per_peer_are_capped_and_the_excess_registration_is_answered_without_observe()
    {
        var (h, _) = Setup(o => o.MaxObserveRelationsPerPeer = 1);
        h.Router.Map(CoapCode.Get, "/humidity", ctx => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Observe = ctx.IsObserveRegistration }));
        h.Receive("client", Register(1, [1]));
        Assert.NotNull((await h.NextAsync()).Observe);
        var second = StackHarness.Con(CoapCode.Get, "/humidity", 2, [2]);
        second.Observe = 0;
        h.Receive("client", second);
        Assert.Null((await h.NextAsync()).Observe);
        Assert.Equal(1, h.Server.Observers.Count);
    }

    [Fact]
    public async Task A_closed_peer_loses_its_relations()
    {
        var (h, ended) = Setup();
        h.Receive("client", Register(1, [1]));
        await h.NextAsync();
        h.Server.OnPeerClosed("client");
        Assert.Equal(RelationEndReason.PeerClosed, Assert.Single(ended).Reason);
    }

    [Fact]
    public async Task Confirmable_notifications_to_one_client_go_one_at_a_time()
    {
        // RFC 7641 §4.5.1 / RFC 7252 §4.7 (NSTART 1): the second relation's CON notification waits for the first's ACK.
        var (h, _) = Setup();
        h.Router.Map(CoapCode.Get, "/humidity", ctx => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Observe = ctx.IsObserveRegistration }));
        h.Receive("client", Register(1, [1]));
        await h.NextAsync();
        var humidity = StackHarness.Con(CoapCode.Get, "/humidity", 2, [2]);
        humidity.Observe = 0;
        h.Receive("client", humidity);
        await h.NextAsync();
        var temperature = Assert.Single(h.Server.Observers.ForResource("/temperature"));
        var other = Assert.Single(h.Server.Observers.ForResource("/humidity"));

        Assert.True(h.Server.Notify(temperature, new CoapResponse(CoapCode.Content), forceConfirmable: true));
        Assert.True(h.Server.Notify(other, new CoapResponse(CoapCode.Content), forceConfirmable: true));
        var first = await h.NextAsync();
        Assert.Equal(new byte[] { 1 }, first.Token.ToArray());
        Assert.True(h.NothingSent);
        Assert.Equal(1, h.Server.Confirmables.Queued);

        h.Receive("client", StackHarness.Empty(CoapMessageType.Acknowledgement, first.MessageId));
        var second = await h.NextAsync();
        Assert.Equal(new byte[] { 2 }, second.Token.ToArray());
        Assert.Equal(CoapMessageType.Confirmable, second.Type);
    }

    [Fact]
    public async Task A_deregistered_relation_sends_no_more_notifications()
    {
        // The relation's notification waits behind another CON (NSTART 1); deregistering cancels it before it goes out.
        var (h, _) = Setup();
        h.Receive("client", Register(1, [1]));
        await h.NextAsync();
        var relation = Assert.Single(h.Server.Observers.ForResource("/temperature"));
        h.Server.Confirmables.Send("client", 999, CoapSerializer.ToArray(StackHarness.Empty(CoapMessageType.Confirmable, 999)), null);
        await h.NextAsync();
        var outcomes = new List<ConfirmableOutcome>();
        Assert.True(h.Server.Notify(relation, new CoapResponse(CoapCode.Content), forceConfirmable: true, outcomes.Add));
        Assert.True(h.NothingSent);

        h.Receive("client", StackHarness.Con(CoapCode.Get, "/temperature", 2, [1])); // GET without Observe
        Assert.Null((await h.NextAsync()).Observe);
        Assert.Equal([ConfirmableOutcome.Cancelled], outcomes);
        h.Receive("client", StackHarness.Empty(CoapMessageType.Acknowledgement, 999));
        Assert.True(h.NothingSent);
        Assert.Equal(0, h.Server.Confirmables.Count);
    }
}
