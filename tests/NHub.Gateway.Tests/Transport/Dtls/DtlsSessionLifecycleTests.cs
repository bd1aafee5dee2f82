using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>How sessions end: client restart, revocation, close_notify, idle eviction, shutdown.</summary>
public sealed class DtlsSessionLifecycleTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_client_that_restarts_on_the_same_address_replaces_its_session()
    {
        await using var server = new DtlsServerHarness();
        var first = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        var address = first.LocalEndPoint;
        Assert.NotNull(first.Exchange(EchoCoapReceiver.Request(1)));
        var oldPeer = Assert.Single(server.Receiver.Peers);
        first.Dispose(); // power loss: no close_notify

        using var second = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, bind: address);
        Assert.NotNull(second.Exchange(EchoCoapReceiver.Request(2)));

        var closed = await server.Receiver.Closed(oldPeer).WaitAsync(Wait);
        Assert.Equal(oldPeer.SessionId, closed.SessionId);
        var newPeer = Assert.Single(server.Receiver.Peers);
        Assert.NotEqual(oldPeer.SessionId, newPeer.SessionId);
        Assert.Equal(address, newPeer.EndPoint);
        Assert.Equal(1, server.Transport.PeerCount);
        Assert.Equal(1, server.Transport.SessionCount);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.sessions"));
    }

    [Fact]
    public async Task A_late_copy_of_the_ClientHello_that_made_the_session_does_not_restart_it()
    {
        // RFC 6347 §4.2.8: a ClientHello from the address of a session is a restart, unless it is the one that made it
        // (a retransmission that arrived late), which the session compares by its random.
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);
        var withCookie = client.Sent.Last(d => DtlsWire.HandshakeType(d) == 1);

        client.SendRaw(withCookie);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "stale_client_hello") == 1, Wait, "the late ClientHello dropped");

        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(2)));
        Assert.Equal(peer.SessionId, Assert.Single(server.Receiver.Peers).SessionId);
        Assert.Equal(1, server.Transport.SessionCount);
    }

    [Fact]
    public void A_ClientHello_tag_is_the_random_s_last_16_bytes()
    {
        var random = DtlsWire.RandomBytes(32);
        var other = (byte[])random.Clone();
        other[31] ^= 1;
        var clockOnly = (byte[])random.Clone();
        clockOnly[0] ^= 0xFF; // gmt_unix_time: not part of the tag
        Assert.Equal(DtlsPeer.TagOf(random), DtlsPeer.TagOf(clockOnly));
        Assert.NotEqual(DtlsPeer.TagOf(random), DtlsPeer.TagOf(other));
        Assert.Equal(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(random.AsSpan(16)), DtlsPeer.TagOf(random));
        Assert.Equal((UInt128)0x0102, DtlsPeer.TagOf([1, 2]));
    }

    [Fact]
    public async Task CloseSessions_closes_the_identitys_session_at_once_and_the_next_handshake_sees_the_revocation()
    {
        await using var server = new DtlsServerHarness();
        server.Source.Add("other-device", "other-key");
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        using var other = BcDtlsClient.Connect(server.EndPoint, "other-device", "other-key");
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = server.Receiver.Peers.Single(p => p.Identity == DtlsServerHarness.Identity);

        server.Source.Revoke(DtlsServerHarness.Identity);
        var closed = server.Transport.CloseSessions(DtlsServerHarness.Identity);

        Assert.Equal(1, closed);
        Assert.True(server.Receiver.Closed(peer).IsCompletedSuccessfully, "OnPeerClosed is called within CloseSessions");
        var receiving = Task.Run(() => client.ReceiveOne(1000));
        Assert.Equal(AlertDescription.close_notify, await client.Peer.AlertReceived.Task.WaitAsync(Wait));
        await receiving;
        Assert.Equal(1, server.Transport.SessionCount);
        Assert.NotNull(other.Exchange(EchoCoapReceiver.Request(2)));

        var error = Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key));
        Assert.Equal(AlertDescription.unknown_psk_identity, error.AlertDescription);
    }

    [Fact]
    public async Task A_client_close_notify_ends_the_session()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);

        client.Session.Close();

        await server.Receiver.Closed(peer).WaitAsync(Wait);
        Assert.Equal(0, server.Transport.PeerCount);
        Assert.Equal(0, server.Meters.Total("nhub.dtls.sessions"));
    }

    [Fact]
    public async Task An_idle_session_is_evicted_after_the_idle_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = new DtlsServerHarness(o => o.SweepInterval = TimeSpan.FromMinutes(1), time);
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);

        time.Advance(TimeSpan.FromHours(5));
        Assert.False(server.Receiver.Closed(peer).IsCompleted, "5 h of sleep keeps the session (default idle timeout 6 h)");
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(2)));

        time.Advance(TimeSpan.FromHours(6) + TimeSpan.FromMinutes(2));
        await server.Receiver.Closed(peer).WaitAsync(Wait);
        Assert.Equal(0, server.Transport.PeerCount);
    }

    [Fact]
    public async Task Stop_sends_close_notify_to_every_session()
    {
        var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);

        await server.DisposeAsync();

        var receiving = Task.Run(() => client.ReceiveOne(1000));
        Assert.Equal(AlertDescription.close_notify, await client.Peer.AlertReceived.Task.WaitAsync(Wait));
        await receiving;
        Assert.True(server.Receiver.Closed(peer).IsCompletedSuccessfully);
    }
}
