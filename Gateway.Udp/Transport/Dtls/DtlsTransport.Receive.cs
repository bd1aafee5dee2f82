using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>The receive path: socket loop, cookie exchange for unknown addresses, dispatch and the record pump.</summary>
public sealed partial class DtlsTransport
{
    /// <summary>
    /// A dedicated thread in a blocking receive. Not an async loop: each completion there goes epoll thread, then
    /// thread-pool hop, and the pool's workers spin for more work between datagrams; for one busy UDP socket a
    /// blocking recvfrom on an owned thread costs less CPU per datagram (measured, bench/RESULTS.md).
    /// </summary>
    private void ReceiveLoop(object? state)
    {
        var socket = (Socket)state!;
        var ct = _stop.Token;
        var address = new SocketAddress(socket.AddressFamily);
        // One buffer per loop, reused for every datagram: records are copied into pooled buffers only when queued
        // for a peer. One byte more than the maximum: a datagram that fills it was truncated.
        var buffer = new byte[_options.MaxDatagramSize + 1];
        var plaintext = new byte[_options.MaxDatagramSize];
        var context = new ReceiveContext(address, plaintext, new HelloVerifySender(socket, _options.MaxDatagramSize));
        while (!ct.IsCancellationRequested)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(buffer, SocketFlags.None, address);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (ct.IsCancellationRequested)
                {
                    return; // the socket was closed under the receive
                }
                _metrics.DatagramDropped("socket_error");
                DtlsLog.ReceiveError(_logger, ex.SocketErrorCode);
                continue;
            }
            _metrics.Datagrams.Received.Add(1);
            if (received > _options.MaxDatagramSize)
            {
                _metrics.DatagramDropped("oversize");
                continue;
            }
            try
            {
                OnDatagram(context, buffer.AsSpan(0, received));
            }
            catch (Exception ex)
            {
                // Never let one datagram end the loop.
                _metrics.RecordDropped("internal_error");
                DtlsLog.DatagramError(_logger, ex, ToEndPoint(address));
            }
        }
    }

    /// <summary>Per-loop scratch state: the reused source address, plaintext buffer, cookie sender and client-id buffer.</summary>
    private sealed class ReceiveContext(SocketAddress address, byte[] plaintext, HelloVerifySender hello)
    {
        public SocketAddress Address { get; } = address;
        public byte[] Plaintext { get; } = plaintext;
        public HelloVerifySender Hello { get; } = hello;
        public byte[] ClientId { get; set; } = [];
    }

    private void OnDatagram(ReceiveContext context, ReadOnlySpan<byte> datagram)
    {
        if (!DtlsRecordHeader.TryRead(datagram, out var header, out var isClientHello))
        {
            _metrics.RecordDropped("malformed");
            return;
        }
        if (header.ContentType == DtlsRecordHeader.ConnectionId && _connectionIds.Length > 0)
        {
            OnConnectionIdRecord(context, header, datagram);
            return;
        }
        if (_peers.TryGet(context.Address, out var peer))
        {
            if (isClientHello && peer.State == PeerState.Established)
            {
                // RFC 6347 §4.2.8: a new epoch-0 ClientHello on a live association means the client restarted
                // (lost its state, sent no close_notify). Only a verified cookie may replace the session.
                OnClientHello(context, datagram, peer);
                return;
            }
            OnPeerRecord(peer, header, datagram, context.Plaintext);
            return;
        }
        if (!isClientHello)
        {
            // No session here (evicted, or never had one): nothing to decrypt with.
            _metrics.RecordDropped("no_session");
            return;
        }
        OnClientHello(context, datagram, replacing: null);
    }

    /// <summary>
    /// A tls12_cid record (RFC 9146 §4: the CID sits at offset 11, after epoch and sequence number): matched to its
    /// session by CID alone, whatever its source address. Nothing changes for the session until BouncyCastle has
    /// authenticated the record (see <see cref="PumpLocked"/>).
    /// </summary>
    private void OnConnectionIdRecord(ReceiveContext context, DtlsRecordHeader header, ReadOnlySpan<byte> datagram)
    {
        // type(1) version(2) epoch(2) sequence(6) cid(L) length(2)
        if (datagram.Length < 11 + _connectionIds.Length + 2)
        {
            _metrics.RecordDropped("malformed");
            return;
        }
        var cid = datagram.Slice(11, _connectionIds.Length);
        if (_peers.TryGetByConnectionId(cid, out var owner))
        {
            OnPeerRecord(owner, header, datagram, context.Plaintext, context.Address);
            return;
        }
        // Not a live session's CID (yet). The client's Finished and first request carry the CID before the session is
        // registered under it (the handshake thread registers it right after): those come from the handshake's address.
        if (_peers.TryGet(context.Address, out var peer) && (peer.ConnectionId is null || cid.SequenceEqual(peer.ConnectionId)))
        {
            OnPeerRecord(peer, header, datagram, context.Plaintext, source: null);
            return;
        }
        _metrics.RecordDropped("unknown_cid");
    }

    /// <summary>A ClientHello from an address without a session (or replacing one): cookie first, state only after.</summary>
    private void OnClientHello(ReceiveContext context, ReadOnlySpan<byte> datagram, DtlsPeer? replacing)
    {
        var address = context.Address;
        if (context.ClientId.Length != address.Size)
        {
            context.ClientId = new byte[address.Size];
        }
        address.Buffer.Span[..address.Size].CopyTo(context.ClientId);
        context.Hello.Target = address;
        context.Hello.Sent = false;
        DtlsRequest? request;
        try
        {
            // BouncyCastle's API takes arrays; this copy is the only allocation for an unverified ClientHello.
            var data = datagram.ToArray();
            request = _cookies!.Verify(context.ClientId, data, context.Hello, DtlsRecordHeader.ClientHelloHasCookie(datagram), out var previousSecret);
            if (previousSecret)
            {
                _metrics.CookieFromPreviousSecret();
            }
        }
        catch (Exception)
        {
            request = null; // a malformed ClientHello
        }
        if (request is null)
        {
            if (context.Hello.Sent)
            {
                _metrics.HelloVerifySent();
            }
            else
            {
                _metrics.RecordDropped("bad_client_hello");
            }
            return;
        }
        var endPoint = ToEndPoint(address);
        var clientRandom = DtlsRecordHeader.ClientHelloRandom(datagram);
        if (replacing is not null)
        {
            if (clientRandom.SequenceEqual(replacing.ClientRandom))
            {
                // A late retransmission of the ClientHello that built this very session: not a restart.
                _metrics.RecordDropped("stale_client_hello");
                return;
            }
            ClosePeer(replacing, "replaced", notify: false);
        }
        if (!_rateLimiter.TryAcquire(endPoint.Address))
        {
            Refuse(endPoint, "rate_limited");
            return;
        }
        var owned = PeerTable.Clone(address); // the peer table's key and the channel's destination: never mutated
        var channel = new PeerDatagramChannel(_socket!, owned, _options.MaxDatagramSize, _options.PeerQueueCapacity, _metrics);
        var peer = new DtlsPeer(owned, endPoint, channel, Interlocked.Increment(ref _nextSessionId), clientRandom.ToArray(), _time.GetTimestamp());
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

    /// <summary>
    /// A record for a known peer: fed to its handshake, or decrypted now (the pump). <paramref name="source"/> is set
    /// for a record matched by CID: the address it came from, where the session moves if the record proves newest.
    /// </summary>
    private void OnPeerRecord(DtlsPeer peer, DtlsRecordHeader header, ReadOnlySpan<byte> datagram, byte[] plaintext, SocketAddress? source = null)
    {
        var closed = false;
        PumpOutcome outcome = default;
        lock (peer.Gate)
        {
            switch (peer.State)
            {
                case PeerState.Handshaking:
                    if (!peer.Channel.TryEnqueue(datagram))
                    {
                        _metrics.RecordDropped("peer_queue_full");
                    }
                    return;
                case PeerState.Closed:
                    _metrics.RecordDropped("closed");
                    return;
            }
            // Established. Cheap checks first, so junk never costs a trip through the record layer. Epoch 1 is
            // the only application epoch (no renegotiation); epoch 0 may still carry the client's retransmitted
            // last flight, which BouncyCastle answers by resending its Finished.
            if (header.Epoch > 1 || (header.Epoch == 0 && header.ContentType is not (DtlsRecordHeader.Handshake or DtlsRecordHeader.ChangeCipherSpec)))
            {
                _metrics.RecordDropped("epoch");
                return;
            }
            if (header.Epoch == 1 && peer.Replay.IsReplay(header.SequenceNumber))
            {
                _metrics.RecordDropped("replay");
                return;
            }
            if (!peer.Channel.TryEnqueue(datagram))
            {
                _metrics.RecordDropped("peer_queue_full");
                return;
            }
            closed = PumpLocked(peer, plaintext, source, ref outcome);
        }
        AfterPump(peer, closed, outcome);
    }

    /// <summary>Outside the peer's lock: what a pump left to do (close the session, close a peer whose address it took).</summary>
    private void AfterPump(DtlsPeer peer, bool closed, PumpOutcome outcome)
    {
        if (outcome.Displaced is { } displaced)
        {
            ClosePeer(displaced, "address_taken", notify: false);
        }
        if (closed)
        {
            FinishClose(peer, peer.Channel.IsClosed ? "close_notify" : "failed");
        }
    }

    /// <summary>What one pump did besides delivering data.</summary>
    private struct PumpOutcome
    {
        /// <summary>A session without CID whose address this session moved to (it cannot be reached any more).</summary>
        public DtlsPeer? Displaced;
    }

    /// <summary>The flags of the record BouncyCastle authenticated last on this thread (its record callback writes them).</summary>
    [ThreadStatic]
    private static DtlsRecordFlags t_recordFlags;

    [ThreadStatic]
    private static bool t_recordAuthenticated;

    private static readonly DtlsRecordCallback RecordCallback = static flags =>
    {
        t_recordFlags = flags;
        t_recordAuthenticated = true;
    };

    /// <summary>
    /// Under the peer's lock: decrypts what the channel holds and delivers the plaintext. Returns true when the
    /// session ended (close_notify received, fatal alert, record-layer failure); the caller then finishes the close.
    /// </summary>
    private bool PumpLocked(DtlsPeer peer, byte[] plaintext, SocketAddress? source, ref PumpOutcome outcome)
    {
        var session = peer.Session!;
        try
        {
            while (peer.Channel.HasPending)
            {
                int length;
                peer.Channel.BeginPump();
                t_recordAuthenticated = false;
                t_recordFlags = DtlsRecordFlags.None;
                try
                {
                    length = session.Receive(plaintext.AsSpan(), PumpWaitMillis, RecordCallback);
                }
                catch (PumpDrainedSignal)
                {
                    length = -1;
                }
                if (t_recordAuthenticated)
                {
                    OnAuthenticatedLocked(peer, source, t_recordFlags, ref outcome);
                }
                else if (peer.Channel.LastServed is { Epoch: > 0 })
                {
                    // A protected record that did not authenticate (bad MAC, wrong CID, stale epoch): dropped by
                    // BouncyCastle (RFC 9146 §6: silently), counted here.
                    _metrics.RecordDropped("auth_failed");
                }
                if (length < 0)
                {
                    // Not application data: an alert, a retransmitted handshake record, or a corrupt record
                    // (bad MAC: dropped by BouncyCastle, IgnoreCorruptDtlsRecords).
                    continue;
                }
                if (peer.Channel.LastServed is { Epoch: 1 } served)
                {
                    // Authenticated and delivered: from now on a copy of this record is a replay.
                    peer.Replay.Mark(served.SequenceNumber);
                }
                peer.LastActivity = _time.GetTimestamp();
                Deliver(peer, plaintext, length);
                // More records in the same datagram wait inside BouncyCastle, not in our channel.
                while ((length = session.ReceivePending(plaintext.AsSpan(), null)) >= 0)
                {
                    Deliver(peer, plaintext, length);
                }
            }
        }
        catch (Exception ex)
        {
            if (!peer.Channel.IsClosed)
            {
                // A fatal alert from the client, or the record layer failed: the session is over.
                DtlsLog.SessionFailed(_logger, peer.SessionId, peer.EndPoint, ex.Message);
            }
            peer.Close(notify: false);
            return true;
        }
        if (peer.Channel.IsClosed)
        {
            // BouncyCastle got close_notify, answered it and closed the channel.
            peer.Close(notify: false);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Under the peer's lock, right after BouncyCastle authenticated a record and before its data is delivered: the
    /// RFC 9146 §6 address update, and wake detection. The session moves only for a record that used the CID and is
    /// newer (epoch, sequence number) than any received before: a replayed or delayed copy, even a genuine one, sent
    /// from elsewhere cannot pull the session away; a forged one never gets here.
    /// </summary>
    private void OnAuthenticatedLocked(DtlsPeer peer, SocketAddress? source, DtlsRecordFlags flags, ref PumpOutcome outcome)
    {
        var now = _time.GetTimestamp();
        var reachable = now - peer.LastReceived > _wakeAfterIdle;
        peer.LastReceived = now;
        const DtlsRecordFlags Movable = DtlsRecordFlags.IsNewest | DtlsRecordFlags.UsesConnectionID;
        if (source is not null && (flags & Movable) == Movable && !source.Equals(peer.Address))
        {
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
            reachable = true;
        }
        if (reachable && peer.Info is { } info)
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
    }

    private void Deliver(DtlsPeer peer, byte[] plaintext, int length)
    {
        try
        {
            _receiver!.OnDatagram(peer.Info!, plaintext.AsSpan(0, length));
        }
        catch (Exception ex)
        {
            _metrics.RecordDropped("handler_error");
            DtlsLog.HandlerError(_logger, ex, peer.EndPoint);
        }
    }
}
