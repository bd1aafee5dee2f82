using System.Net;
using System.Net.Sockets;
using System.Text;
using NHub.Coap;
using NHub.Coap.Stack;
using NHub.Gateway.Coap;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;
using Xunit.Abstractions;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>
/// RFC 9146 Connection IDs against BouncyCastle's DTLS client: negotiation, the session following its device to a
/// new address (§6: only for an authenticated record newer than any before), forgeries changing nothing, and the
/// CoAP layer's session state (dedup cache, Observe relation) surviving the move.
/// </summary>
public sealed class DtlsConnectionIdTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Clients_offering_connection_id_get_one_with_the_node_id_and_clients_without_are_served_unchanged()
    {
        await using var server = new DtlsServerHarness(nodeId: 42);
        using var empty = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        using var own = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: [1, 2, 3, 4]);
        using var plain = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);

        foreach (var client in new[] { empty, own, plain })
        {
            Assert.EndsWith("ok:hi", Encoding.ASCII.GetString(client.Exchange(EchoCoapReceiver.Request(1, "hi"u8))!), StringComparison.Ordinal);
        }
        // The empty extension ("I will not receive one") still gets the server's CID (RFC 9146 §3).
        var cidA = Assert.IsType<byte[]>(empty.Peer.ServerConnectionId);
        var cidB = Assert.IsType<byte[]>(own.Peer.ServerConnectionId);
        Assert.Null(plain.Peer.ServerConnectionId);
        Assert.Equal(6, cidA.Length);
        Assert.Equal(42, cidA[0]);
        Assert.Equal(42, cidB[0]);
        Assert.NotEqual(cidA, cidB);
        Assert.Equal(3, server.Transport.SessionCount);
        Assert.Equal(2, server.Transport.ConnectionIdSessionCount);
        Assert.Equal(2, server.Meters.Total("nhub.dtls.sessions.connection_id"));
        Assert.Equal(3, server.Meters.Total("nhub.dtls.sessions"));
    }

    [Fact]
    public async Task With_connection_ids_off_a_client_offering_one_gets_none_and_is_served()
    {
        await using var server = new DtlsServerHarness(o => o.ConnectionIdLength = 0);
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);

        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        Assert.Null(client.Peer.ServerConnectionId);
        Assert.Equal(0, server.Transport.ConnectionIdSessionCount);
    }

    [Fact]
    public async Task A_session_follows_its_device_to_new_ports_without_a_handshake_and_answers_go_to_the_new_address()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1, "first"u8)));
        var peer = Assert.Single(server.Receiver.Peers);
        var first = client.LocalEndPoint;
        Assert.Equal(first, peer.EndPoint);

        for (ushort i = 2; i <= 4; i++)
        {
            client.MoveToNewPort(); // the old socket is closed: an answer sent there would be lost
            var answer = client.Exchange(EchoCoapReceiver.Request(i, "moved"u8));
            Assert.EndsWith("ok:moved", Encoding.ASCII.GetString(answer!), StringComparison.Ordinal);
            Assert.Equal(client.LocalEndPoint, peer.EndPoint);
        }

        Assert.NotEqual(first, peer.EndPoint);
        Assert.Same(peer, Assert.Single(server.Receiver.Peers)); // one session, the same PeerInfo throughout
        Assert.Equal(1, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
        Assert.Equal(3, server.Meters.Total("nhub.dtls.address_changes"));
        Assert.Equal(1, server.Transport.PeerCount);
        // The new address is the session's: the server's own records (no CID from this client) still reach it there.
        Assert.Equal(1, server.Transport.SessionCount);
    }

    [Fact]
    public async Task Unknown_cids_bad_macs_and_replays_from_a_new_address_change_nothing_and_are_counted()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1, "one"u8)));
        var sniffed = client.LastSent!; // a genuine CID record, already delivered
        var cid = client.Peer.ServerConnectionId!;
        var peer = Assert.Single(server.Receiver.Peers);
        var home = peer.EndPoint;
        var delivered = server.Receiver.Datagrams;

        using var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        attacker.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // 1. A CID nobody was given.
        var unknown = (byte[])sniffed.Clone();
        unknown[11] ^= 0xFF;
        attacker.SendTo(unknown, server.EndPoint);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "unknown_cid") == 1, Wait, "the unknown CID");
        // 2. The right CID, a fresh sequence number, a forged ciphertext: fails authentication.
        var forged = CidRecord(cid, sequence: 1_000, DtlsWire.RandomBytes(40));
        attacker.SendTo(forged, server.EndPoint);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "auth_failed") == 1, Wait, "the bad MAC");
        // 3. The captured genuine record replayed from the attacker's address.
        attacker.SendTo(sniffed, server.EndPoint);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "replay") == 1, Wait, "the replay");

        Assert.Equal(home, peer.EndPoint);
        Assert.Equal(delivered, server.Receiver.Datagrams);
        Assert.Equal(0, server.Meters.Total("nhub.dtls.address_changes"));
        Assert.Equal(0, attacker.Available);
        // The device, still at home, is answered there.
        Assert.EndsWith("ok:two", Encoding.ASCII.GetString(client.Exchange(EchoCoapReceiver.Request(2, "two"u8))!), StringComparison.Ordinal);
        output.WriteLine(server.Meters.Dump());
    }

    [Fact]
    public async Task A_genuine_but_delayed_record_from_elsewhere_is_delivered_without_moving_the_session()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);
        var home = peer.EndPoint;

        // An on-path attacker holds back record N and lets N+1 through; then it sends N from its own address.
        client.HoldNextSend();
        client.Session.Send(EchoCoapReceiver.Request(2, "held"u8));
        var held = client.LastSent!;
        Assert.EndsWith("ok:later", Encoding.ASCII.GetString(client.Exchange(EchoCoapReceiver.Request(3, "later"u8))!), StringComparison.Ordinal);
        using var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        attacker.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var before = server.Receiver.Datagrams;
        attacker.SendTo(held, server.EndPoint);

        // RFC 9146 §6: it authenticates (and is delivered: DTLS accepts reordering) but is not the newest: no move.
        await WaitUntilAsync(() => server.Receiver.Datagrams == before + 1, "the delayed record's delivery");
        Assert.Equal(home, peer.EndPoint);
        Assert.Equal(0, server.Meters.Total("nhub.dtls.address_changes"));
        Assert.True(client.ReceiveOne(2000) is { } answer && Encoding.ASCII.GetString(answer).EndsWith("ok:held", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_confirmable_retransmitted_from_the_new_address_is_answered_from_the_dedup_cache_and_processed_once()
    {
        var handled = 0;
        var router = new CoapRouter<PeerInfo>().Map(CoapCode.Post, "/count", _ =>
        {
            var n = Interlocked.Increment(ref handled);
            return ValueTask.FromResult(new CoapResponse(CoapCode.Created) { Payload = Encoding.ASCII.GetBytes($"n={n}") });
        });
        CoapEndpoint? endpoint = null;
        await using var server = new DtlsServerHarness(receiver: t => endpoint = new CoapEndpoint(t, new CoapServerOptions(), router, TimeProvider.System, null));
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        var post = Post(7, "/count");

        var answer = Parse(client.Exchange(post)!);
        Assert.Equal(CoapCode.Created, answer.Code);
        client.MoveToNewPort(); // the device did not get the ACK, its NAT rebinds, it retransmits (same Message ID)
        var again = Parse(client.Exchange(post)!);

        Assert.Equal(CoapCode.Created, again.Code);
        Assert.Equal("n=1", Encoding.ASCII.GetString(again.Payload.Span));
        Assert.Equal(1, handled);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.address_changes"));
        Assert.Equal(1, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
    }

    [Fact]
    public async Task A_notification_lost_at_the_old_address_reaches_the_new_one_as_soon_as_the_device_speaks()
    {
        var router = new CoapRouter<PeerInfo>()
            .Map(CoapCode.Get, "/obs", ctx => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Observe = ctx.IsObserveRegistration, Payload = "0"u8.ToArray() }))
            .Map(CoapCode.Post, "/count", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Changed)));
        // A first retransmission 20-30 s out: only the transport's "reachable again" signal can bring it within the wait below.
        var options = new CoapServerOptions { AckTimeout = TimeSpan.FromSeconds(20) };
        CoapEndpoint? endpoint = null;
        await using var server = new DtlsServerHarness(receiver: t => endpoint = new CoapEndpoint(t, options, router, TimeProvider.System, null));
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, connectionId: []);
        var register = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Get, MessageId = 1, Token = new byte[] { 0x0B } };
        register.SetUriPath("/obs");
        register.Observe = 0;
        Assert.Equal(CoapCode.Content, Parse(client.Exchange(CoapSerializer.ToArray(register))!).Code);
        var relation = Assert.Single(endpoint!.Server.Observers.ForResource("/obs"));

        client.MoveToNewPort(); // the device sleeps; its NAT binding is gone
        Assert.True(endpoint.Server.Notify(relation, new CoapResponse(CoapCode.Content) { Payload = "command"u8.ToArray() }, forceConfirmable: true));
        // Lost at the old address. The device wakes at a new port and sends something (an uplink).
        client.Session.Send(Post(2, "/count"));

        var received = new List<CoapMessage>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!received.Exists(m => m.Type == CoapMessageType.Confirmable) && DateTime.UtcNow < deadline)
        {
            if (client.ReceiveOne(500) is { } datagram)
            {
                received.Add(Parse(datagram));
            }
        }
        var notification = Assert.Single(received, m => m.Type == CoapMessageType.Confirmable);
        Assert.Equal("command", Encoding.ASCII.GetString(notification.Payload.Span));
        Assert.Equal(new byte[] { 0x0B }, notification.Token.ToArray());
        Assert.Equal(1, server.Meters.Total("nhub.dtls.address_changes"));
    }

    [Fact]
    public async Task The_first_record_after_a_silence_tells_the_layer_above_the_peer_is_reachable()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = new DtlsServerHarness(o => o.WakeAfterIdle = TimeSpan.FromSeconds(30), time);
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(2)));
        Assert.Equal(0, server.Receiver.Reachable);

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(3)));
        // The echo leaves while the record is delivered, the call comes after: wait for it (bounded), do not race it.
        Assert.True(await server.Receiver.ReachableSignal.WaitAsync(TimeSpan.FromSeconds(10)), "OnPeerReachable was not called");
        Assert.Equal(1, server.Receiver.Reachable);
        // Told after the waking record was delivered, not before: when that record is the ACK of the notification
        // waiting for the device, the CoAP layer must see the ACK first, or it re-sends what was just acknowledged.
        Assert.Equal(3, server.Receiver.DatagramsAtLastReachable);
    }

    private static byte[] Post(ushort messageId, string path)
    {
        var message = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = messageId, Token = new byte[] { 1, 2 } };
        message.SetUriPath(path);
        message.Payload = "{}"u8.ToArray();
        return CoapSerializer.ToArray(message);
    }

    private static CoapMessage Parse(byte[] datagram)
    {
        var message = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(datagram, message));
        return message;
    }

    /// <summary>RFC 9146 §4 tls12_cid record: type 25, DTLS 1.2, epoch 1, sequence, cid, length, ciphertext.</summary>
    private static byte[] CidRecord(byte[] cid, long sequence, byte[] ciphertext)
    {
        var record = new byte[11 + cid.Length + 2 + ciphertext.Length];
        record[0] = 25;
        record[1] = 0xFE;
        record[2] = 0xFD;
        record[4] = 1;
        for (var i = 0; i < 6; i++)
        {
            record[5 + i] = (byte)(sequence >> (8 * (5 - i)));
        }
        cid.CopyTo(record, 11);
        record[11 + cid.Length] = (byte)(ciphertext.Length >> 8);
        record[12 + cid.Length] = (byte)ciphertext.Length;
        ciphertext.CopyTo(record, 13 + cid.Length);
        return record;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}");
            }
            await Task.Yield();
        }
    }
}
