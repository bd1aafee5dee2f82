using System.Net;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Where a DTLS session starts, is established, moves, and ends: every change of a peer's place in the peer table
/// (<see cref="PeerTable"/>) happens here, and every close names a <see cref="SessionCloseReason"/>.
/// <list type="bullet">
/// <item>starts: a cookie-verified ClientHello becomes a peer (<see cref="StartPeer"/>), replacing the address's
/// session when the client restarted;</item>
/// <item>established: the handshake thread registers the session (<see cref="EstablishLocked"/>), or a session is
/// taken over from the store (DtlsTransport.Takeover.cs);</item>
/// <item>moves: an authenticated, newest Connection ID record from another address (<see cref="TryMoveLocked"/>);</item>
/// <item>ends: close_notify or failure while pumping (<see cref="AfterPump"/>), revocation
/// (<see cref="CloseSessions"/>), idle or stuck (<see cref="Sweep"/>), shutdown (<see cref="CloseAll"/>).</item>
/// </list>
/// A handshake that fails before it is a session ends in <see cref="FailHandshake"/>.
/// </summary>
public sealed partial class DtlsTransport
{
    /// <summary>
    /// A cookie-verified ClientHello from <paramref name="address"/> (the receive loop's reused address): closes the
    /// session it replaces (RFC 6347 §4.2.8, a restarted client), then makes a peer, within the per-source rate limit
    /// and the peer cap, and queues its handshake.
    /// </summary>
    private void StartPeer(SocketAddress address, ReadOnlySpan<byte> clientRandom, DtlsRequest request, DtlsPeer? replacing)
    {
        var endPoint = ToEndPoint(address);
        if (replacing is not null)
        {
            if (DtlsPeer.TagOf(clientRandom) == replacing.ClientHelloTag)
            {
                // A late retransmission of the ClientHello that built this very session: not a restart.
                _metrics.RecordDropped("stale_client_hello");
                return;
            }
            ClosePeer(replacing, SessionCloseReason.Replaced, notify: false);
        }
        if (!_rateLimiter.TryAcquire(endPoint.Address))
        {
            Refuse(endPoint, "rate_limited");
            return;
        }
        var owned = PeerTable.Clone(address); // the peer table's key and the channel's destination: never mutated
        var channel = new PeerDatagramChannel(_socket!, owned, _options.MaxDatagramSize, _options.PeerQueueCapacity, _metrics);
        var peer = new DtlsPeer(owned, endPoint, channel, Interlocked.Increment(ref _nextSessionId), DtlsPeer.TagOf(clientRandom), _time.GetTimestamp());
        if (!_peers.TryAdd(peer))
        {
            Refuse(endPoint, _peers.Count >= _options.MaxPeers ? "max_peers" : "duplicate");
            return;
        }
        if (!_handshakes!.TryEnqueue(new HandshakeWork(peer, request)))
        {
            _peers.Remove(peer);
            channel.Close();
            Refuse(endPoint, "queue_full");
        }
    }

    private void Refuse(IPEndPoint endPoint, string reason)
    {
        _metrics.Handshake(reason);
        DtlsLog.HandshakeRefused(_logger, endPoint, reason);
    }

    /// <summary>A handshake that failed (or waited too long for a thread): the peer is closed and forgotten, counted by why.</summary>
    private void FailHandshake(DtlsPeer peer, string reason, string? identity, string detail)
    {
        lock (peer.Gate)
        {
            peer.Close(notify: false);
        }
        _peers.Remove(peer);
        // One line per failed handshake (per peer), with why.
        DtlsLog.HandshakeFailed(_logger, peer.EndPoint, reason, identity, detail);
        _metrics.Handshake(reason);
    }

    /// <summary>
    /// Under the peer's lock, on the handshake thread: the handshake succeeded. From now on the session is found by
    /// its id (sends) and by its Connection ID, if it negotiated one.
    /// </summary>
    private void EstablishLocked(DtlsPeer peer, SessionRecordLayer records, DeviceDtlsServer server)
    {
        var identity = server.AuthenticatedIdentity;
        var connectionId = server.ReceiveConnectionId;
        peer.Establish(records, identity, server.SessionKey!, _options.MaxDatagramSize);
        peer.LastActivity = peer.LastReceived = _time.GetTimestamp();
        _peers.AddSession(peer);
        _metrics.SessionOpened(connectionId is not null);
        _metrics.HandshakeSucceeded(connectionId is not null, identity is null ? "none" : CredentialIdentities.AuthTypeOf(identity), server.Resumed);
        DtlsLog.HandshakeCompleted(_logger, peer.SessionId, peer.EndPoint, identity, CipherSuiteName(server.NegotiatedCipherSuite),
            connectionId is null ? "none" : Convert.ToHexString(connectionId));
    }

    /// <summary>
    /// Under the peer's lock, for a record that just authenticated that was matched by CID from
    /// <paramref name="source"/>: RFC 9146 §6, the session moves there only when the record used the CID and is newer
    /// (epoch, sequence number) than any received before, so a replayed or delayed copy cannot pull it away. A session
    /// without CID that held the new address is left in <paramref name="outcome"/> for <see cref="AfterPump"/> to
    /// close. Returns whether the session moved.
    /// </summary>
    private bool TryMoveLocked(DtlsPeer peer, SocketAddress source, bool newest, bool usesConnectionId, ref PumpOutcome outcome)
    {
        if (!newest || !usesConnectionId || source.Equals(peer.Address))
        {
            return false;
        }
        var owned = PeerTable.Clone(source);
        var endPoint = ToEndPoint(owned);
        var from = peer.EndPoint;
        var displaced = _peers.Move(peer, owned);
        peer.MoveTo(owned, endPoint);
        if (displaced is not null && displaced.ConnectionId is null)
        {
            // A CID session that lost the address keeps working (found by its CID); one without is unreachable.
            outcome.Displaced = displaced;
        }
        _metrics.AddressChanged();
        DtlsLog.SessionMoved(_logger, peer.SessionId, from, endPoint, peer.Info?.Identity);
        return true;
    }

    /// <summary>
    /// Outside the peer's lock, after the datagram's records were delivered: what it left to do (finish the session's
    /// close, close a peer whose address it took, re-send what waits for a device that woke up or moved, write a
    /// checkpoint to the store).
    /// </summary>
    private void AfterPump(DtlsPeer peer, PumpOutcome outcome)
    {
        if (outcome.Displaced is { } displaced)
        {
            ClosePeer(displaced, SessionCloseReason.AddressTaken, notify: false);
        }
        if (outcome.Closed is { } reason)
        {
            FinishClose(peer, reason);
            return;
        }
        if (outcome.Reachable && peer.Info is { } info)
        {
            try
            {
                _receiver!.OnPeerReachable(info);
            }
            catch (Exception ex)
            {
                DtlsLog.HandlerError(_logger, ex, peer.EndPoint);
            }
        }
        if (outcome.Checkpoint)
        {
            Checkpoint(peer);
        }
    }

    /// <summary>
    /// Revocation: forgets the identity's cached credential and closes every live session authenticated with it,
    /// sending close_notify, before returning. Returns how many sessions were closed.
    /// </summary>
    public int CloseSessions(string identity)
    {
        _credentials.Invalidate(identity);
        var closed = 0;
        foreach (var peer in _peers.SessionsSnapshot())
        {
            if (string.Equals(peer.Info?.Identity, identity, StringComparison.Ordinal) && ClosePeer(peer, SessionCloseReason.Revoked, notify: true))
            {
                closed++;
            }
        }
        if (closed > 0)
        {
            DtlsLog.SessionsRevoked(_logger, identity, closed);
        }
        return closed;
    }

    /// <summary>
    /// Shutdown: closes every peer. A session the store holds ends silently (the device goes on with it through the next
    /// gateway, see <see cref="ReleaseStoredAsync"/>); every other one gets close_notify, so its device handshakes
    /// again at once. Returns how many were closed.
    /// </summary>
    private int CloseAll()
    {
        var closed = 0;
        foreach (var peer in _peers.Snapshot())
        {
            // close_notify only for an established session nobody else can continue; a handshake in progress is
            // muted (its Finished, waiting for the store, must not leave now).
            if (ClosePeer(peer, SessionCloseReason.Shutdown, notify: peer.State == PeerState.Established && !peer.Stored))
            {
                closed++;
            }
        }
        return closed;
    }

    /// <summary>Timer: evicts idle sessions (silently: the device sleeps) and handshakes stuck past their timeout.</summary>
    private void Sweep()
    {
        try
        {
            var now = _time.GetTimestamp();
            foreach (var peer in _peers.Snapshot())
            {
                switch (peer.State)
                {
                    case PeerState.Established when now - peer.LastActivity > _idleTimeout:
                        ClosePeer(peer, SessionCloseReason.Idle, notify: false);
                        break;
                    case PeerState.Established when peer.Stored && now - peer.LastCheckpoint > _idleTimeout / 2 && peer.LastActivity > peer.LastCheckpoint:
                        // An active session the store has not heard of for half the idle timeout: refresh its expiry.
                        Checkpoint(peer);
                        break;
                    case PeerState.Established when !peer.Stored && peer.PendingSnapshot is not null:
                        // Its first store failed or timed out: try again (once per sweep, not per record).
                        Checkpoint(peer);
                        break;
                    case PeerState.Handshaking when now - peer.CreatedAt > 2 * _handshakeTimeout:
                        // BouncyCastle enforces the timeout itself; this catches a handshake that never got a thread.
                        ClosePeer(peer, SessionCloseReason.HandshakeStuck, notify: false);
                        break;
                }
            }
            _rateLimiter.Sweep();
        }
        catch (Exception ex)
        {
            DtlsLog.DatagramError(_logger, ex, null);
        }
    }

    /// <summary>Closes a peer in any state; OnPeerClosed for established sessions. False when it was already closed.</summary>
    private bool ClosePeer(DtlsPeer peer, SessionCloseReason reason, bool notify)
    {
        lock (peer.Gate)
        {
            if (!peer.Close(notify))
            {
                return false;
            }
        }
        FinishClose(peer, reason);
        return true;
    }

    /// <summary>Outside the peer's lock: forget the peer and tell the CoAP layer (once; only sessions have a PeerInfo).</summary>
    private void FinishClose(DtlsPeer peer, SessionCloseReason reason)
    {
        _peers.Remove(peer);
        ForgetStored(peer, reason);
        if (peer.Info is not { } info || Interlocked.Exchange(ref peer.ClosedNotified, 1) == 1)
        {
            return;
        }
        _metrics.SessionClosed(peer.ConnectionId is not null);
        DtlsLog.SessionClosed(_logger, peer.SessionId, peer.EndPoint, info.Identity, reason);
        try
        {
            if (reason is SessionCloseReason.Moved || (reason is SessionCloseReason.Shutdown && peer.Stored))
            {
                _receiver!.OnPeerMoved(info);
            }
            else
            {
                _receiver!.OnPeerClosed(info);
            }
        }
        catch (Exception ex)
        {
            DtlsLog.HandlerError(_logger, ex, peer.EndPoint);
        }
    }
}
