using System.Text;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>
/// The transport's side of the stateless gateway (docs/stateless-gateway.md), two transports sharing an in-memory store:
/// a session taken over without a handshake, and the records that must not take anything over. With real gateways,
/// PostgreSQL and libcoap: NHub.Interop.Tests' StatelessGatewayTests.
/// </summary>
public sealed class DtlsTakeoverTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly InMemorySessionStore _store = new();
    private readonly Guid _gatewayA = Guid.NewGuid();
    private readonly Guid _gatewayB = Guid.NewGuid();

    private DtlsServerHarness Gateway(Guid id, int nodeId, Action<DtlsOptions>? configure = null) =>
        new(configure, nodeId: nodeId, store: _store.For(id));

    [Fact]
    public async Task A_session_continues_on_another_gateway_without_a_handshake_past_every_sequence_number_of_the_first()
    {
        await using var a = Gateway(_gatewayA, 1);
        await using var b = Gateway(_gatewayB, 2);
        using var client = BcDtlsClient.Connect(a.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.EndsWith("ok:one", Encoding.ASCII.GetString(client.Exchange(EchoCoapReceiver.Request(1, "one"u8))!), StringComparison.Ordinal);
        var stored = Assert.Single(_store.Sessions).Value;
        Assert.Equal(_gatewayA, stored.Owner);
        var firstLimit = stored.Limit;
        var firstLease = stored.Lease;

        client.MoveToServer(b.EndPoint);
        var answer = client.Exchange(EchoCoapReceiver.Request(2, "two"u8));

        Assert.EndsWith("ok:two", Encoding.ASCII.GetString(answer!), StringComparison.Ordinal);
        Assert.Equal(1, b.Transport.TakeoverCount);
        Assert.Equal(0, b.Meters.Total("nhub.dtls.handshakes"));
        Assert.Equal(_gatewayB, stored.Owner);
        Assert.Equal(firstLimit + b.Options.SequenceBlockSize, stored.Limit);
        // What b sent started at a's durable limit (the explicit nonce is epoch ‖ sequence number).
        Assert.Equal(1, b.Transport.SessionCount);

        // The store tells a; a drops its copy without a word, and erases nothing (it is no longer the owner).
        var cid = Convert.FromHexString(_store.Sessions.Keys.Single());
        Assert.False(a.Transport.DropMovedSession(cid, stored.Snapshot.SessionKey, stored.Lease), "a dropped for b's lease");
        Assert.True(a.Transport.DropMovedSession(cid, stored.Snapshot.SessionKey, firstLease));
        Assert.Equal(0, a.Transport.SessionCount);
        Assert.Single(_store.Sessions);
    }

    [Fact]
    public async Task A_forged_record_with_a_stored_connection_id_takes_nothing_over()
    {
        await using var a = Gateway(_gatewayA, 1);
        await using var b = Gateway(_gatewayB, 2);
        using var client = BcDtlsClient.Connect(a.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var cid = Convert.FromHexString(_store.Sessions.Keys.Single());

        client.MoveToServer(b.EndPoint);
        client.SendRaw(DtlsWire.CidRecord(cid, epoch: 1, sequence: 1000, DtlsWire.RandomBytes(40)));

        await b.Meters.WaitForAsync(m => m.Total("nhub.dtls.takeovers", "result", "auth_failed") == 1, Wait, "the forged record's lookup");
        Assert.Equal(_gatewayA, _store.Sessions.Values.Single().Owner);
        Assert.Equal(0, b.Transport.SessionCount);
    }

    [Fact]
    public async Task A_genuine_record_replayed_from_before_the_checkpoint_takes_nothing_over()
    {
        await using var a = Gateway(_gatewayA, 1, o => o.ReplayCheckpointRecords = 64);
        await using var b = Gateway(_gatewayB, 2);
        using var client = BcDtlsClient.Connect(a.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var captured = client.LastSent!;
        for (var i = 2; i <= 70; i++)
        {
            Assert.NotNull(client.Exchange(EchoCoapReceiver.Request((ushort)i)));
        }
        var stored = _store.Sessions.Values.Single();
        await WaitUntilAsync(() => stored.Replay.Top >= 64, "a's replay checkpoint");

        // An attacker replays the first request (genuine, authenticates) to gateway b.
        client.MoveToServer(b.EndPoint);
        client.SendRaw(captured);

        await b.Meters.WaitForAsync(m => m.Total("nhub.dtls.takeovers", "result", "stale") == 1, Wait, "the replayed record's lookup");
        Assert.Equal(_gatewayA, stored.Owner);
        Assert.Equal(0, b.Receiver.Datagrams);
        // The device's own next record does take the session over: after a second, as its CoAP retransmission would
        // (records that proved nothing keep the CID from being looked up again for a second, against forgers).
        byte[]? answer = null;
        var deadline = DateTime.UtcNow + Wait;
        while (answer is null && DateTime.UtcNow < deadline)
        {
            answer = client.Exchange(EchoCoapReceiver.Request(71), waitMillis: 300);
        }
        Assert.NotNull(answer);
        Assert.Equal(_gatewayB, stored.Owner);
    }

    [Fact]
    public async Task A_graceful_stop_leaves_the_session_to_the_next_gateway_without_close_notify()
    {
        var a = Gateway(_gatewayA, 1);
        await using var b = Gateway(_gatewayB, 2);
        using var client = BcDtlsClient.Connect(a.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));

        await a.DisposeAsync();

        var stored = _store.Sessions.Values.Single();
        Assert.Equal(Guid.Empty, stored.Owner);
        Assert.True(stored.Replay.Top >= 1, "the replay window was not handed over");
        Assert.False(client.Peer.AlertReceived.Task.IsCompleted, "the device was sent an alert");
        Assert.Equal(1, a.Receiver.Moved);
        client.MoveToServer(b.EndPoint);
        Assert.EndsWith("ok:again", Encoding.ASCII.GetString(client.Exchange(EchoCoapReceiver.Request(2, "again"u8))!), StringComparison.Ordinal);
        Assert.Equal(1, b.Transport.TakeoverCount);
    }

    [Fact]
    public async Task A_session_whose_first_store_failed_unseen_is_never_written_later_and_ends_at_the_retry()
    {
        // The first store timed out and did not land. The retry cannot tell that from "landed, taken over and erased
        // since", where a new record would let this copy lease numbers the other owner used: it writes nothing, and
        // the copy ends (served until then from its first block, which nobody else can hold).
        _store.FailNextStore = true;
        await using var a = Gateway(_gatewayA, 1, o => o.SweepInterval = TimeSpan.FromMilliseconds(100));
        using var client = BcDtlsClient.Connect(a.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1))); // served while the store is down

        await WaitUntilAsync(() => a.Transport.SessionCount == 0, "the refused retry ending the copy");
        Assert.Empty(_store.Sessions);
        Assert.Equal(1, a.Receiver.Moved);
    }

    [Fact]
    public async Task A_copy_whose_store_landed_unseen_and_was_taken_over_drops_itself_instead_of_crossing_its_limit()
    {
        _store.FailNextStore = true;
        _store.StoreLandsBeforeFailing = true; // written, but the handshake saw a timeout
        await using var a = Gateway(_gatewayA, 1, o => o.SweepInterval = TimeSpan.FromMilliseconds(100));
        await using var b = Gateway(_gatewayB, 2);
        using var client = BcDtlsClient.Connect(a.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));

        // b takes it over (no moved notice reaches a in this test); a's retry of its store is refused: a must go.
        client.MoveToServer(b.EndPoint);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(2)));
        await WaitUntilAsync(() => a.Transport.SessionCount == 0, "a dropping its stale copy");
        Assert.Equal(_gatewayB, _store.Sessions.Values.Single().Owner);
        Assert.Equal(1, a.Receiver.Moved);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"never happened: {what}");
            }
            await Task.Delay(20);
        }
    }
}
