using Org.BouncyCastle.Tls;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>The handshake path, on the dedicated handshake threads.</summary>
public sealed partial class DtlsTransport
{
    /// <summary>On a handshake thread: BouncyCastle's blocking server handshake for one cookie-verified peer.</summary>
    private void RunHandshake(HandshakeWork work)
    {
        var peer = work.Peer;
        if (peer.State == PeerState.Closed)
        {
            return;
        }
        if (_time.GetTimestamp() - peer.CreatedAt > _handshakeTimeout)
        {
            FailHandshake(peer, "queue_timeout", null, "waited longer than the handshake timeout for a handshake thread");
            return;
        }
        var identities = new CachedPskIdentityManager(_credentials, _stop.Token);
        var server = new DeviceDtlsServer(_crypto!, identities, _cipherSuites, (int)_options.HandshakeTimeout.TotalMilliseconds, _connectionIds,
            _serverCertificate, _certificates, _resumption, _stop.Token);
        BcDtlsTransport session;
        try
        {
            session = new DtlsServerProtocol().Accept(server, peer.Channel, work.Request);
        }
        catch (Exception ex)
        {
            var reason = identities.RejectReason ?? server.CertificateRejectReason ?? ex switch
            {
                _ when peer.Channel.FinishedRejected => "wrong_key",
                TlsTimeoutException => "timeout",
                _ when peer.Channel.IsClosed && peer.State == PeerState.Closed => "cancelled",
                TlsFatalAlertReceived => "alert_received",
                TlsFatalAlert => "alert_sent",
                _ => "error",
            };
            var detail = peer.Channel.FinishedRejected
                ? $"the client's Finished failed authentication, so its PSK differs from the registered one ({server.LastAlert ?? "no alert sent"})"
                : server.LastAlert is { } alert ? $"{ex.Message} ({alert})" : ex.Message;
            if (server.FailedAfterVerify)
            {
                lock (peer.Gate)
                {
                    peer.Channel.StopBlocking(); // our Finished and the fatal alert after it: the client learns why
                }
            }
            if (peer.Channel.FinishedRejected && identities.OfferedIdentity is { } offered)
            {
                // The key we hold may be the stale one: a credential re-issued under the same identity (it is
                // prefix-device_id) before the revocation reached this gateway. Ask again next time; the cost is one
                // lookup per failed handshake, which the per-address handshake rate already bounds.
                _credentials.Invalidate(offered);
            }
            FailHandshake(peer, reason, server.OfferedIdentity, detail);
            return;
        }
        if (server.KeyBlock is not { } keyBlock)
        {
            FailHandshake(peer, "error", server.OfferedIdentity, "no key block after the handshake");
            return;
        }
        // Authenticated: the handshake's token goes back to its source, so the per-address budget limits failures, not
        // the honest devices of one carrier NAT reconnecting together (docs/handshake-limits.md).
        _rateLimiter.Refund(peer.EndPoint.Address);
        var plaintext = t_plaintext ??= new byte[_options.MaxDatagramSize];
        var queued = t_queued ??= new byte[_options.MaxDatagramSize];
        // BouncyCastle is done: its last flight (ChangeCipherSpec, Finished) waits, packed, in the channel. A copy stays
        // with the session in case the client did not get it, and our record layer continues after its sequence numbers.
        var flight = peer.Channel.PendingFlight();
        var next = NextSequenceAfter(flight, server.SendConnectionId.Length);
        var portable = _store is not null && server.ReceiveConnectionId is not null && server.AuthenticatedIdentity is not null && server.DeviceId is not null;
        var limit = portable ? next + _options.SequenceBlockSize : SequenceReservation.MaxSequence + 1;
        DtlsSessionSnapshot? snapshot = null;
        bool? stored = null;
        if (portable)
        {
            // Stored before our Finished leaves (it waits, packed, in the channel): the client can use the session only
            // once it has our Finished, and from then on any gateway its records reach finds the session.
            snapshot = new DtlsSessionSnapshot(server.DeviceId!, server.AuthenticatedIdentity!, server.SessionKey!, server.NegotiatedCipherSuite,
                server.EncryptThenMac, keyBlock, server.ReceiveConnectionId!, server.SendConnectionId, _time.GetUtcNow());
            stored = StoreBeforeFinished(peer, snapshot, limit);
        }
        PumpOutcome outcome = default;
        lock (peer.Gate)
        {
            if (peer.State == PeerState.Closed)
            {
                // replaced, revoked or stopped while the handshake ran
                _metrics.Handshake("cancelled");
                if (stored == true)
                {
                    _ = RemoveAsync(peer.SessionId, server.ReceiveConnectionId!, peer.LeaseId);
                }
                return;
            }
            peer.Channel.StopBlocking(); // the flight leaves now
            var records = new SessionRecordLayer(
                DtlsRecordCipher.Create(server.NegotiatedCipherSuite, server.EncryptThenMac, keyBlock),
                server.ReceiveConnectionId,
                server.SendConnectionId,
                new SequenceReservation(next, stored == false ? SequenceReservation.MaxSequence + 1 : limit, _options.SequenceBlockSize),
                HandshakeReplayWindow(),
                flight);
            EstablishLocked(peer, records, server);
            peer.Stored = stored == true;
            peer.LastCheckpoint = _time.GetTimestamp();
            // Unknown whether the store took it (it failed or timed out): keep it for the next checkpoint to store again.
            peer.PendingSnapshot = stored is null ? snapshot : null;
            // Application data BouncyCastle read together with the client's Finished waits inside it.
            int length;
            while ((length = session.ReceivePending(plaintext.AsSpan(), null)) >= 0)
            {
                Deliver(peer, plaintext, length);
            }
            // Records that arrived between our Finished and now (the client's first request) wait in the channel.
            while (peer.State == PeerState.Established && peer.Channel.TryDequeue(queued, out length))
            {
                ReceiveLocked(peer, queued.AsSpan(0, length), plaintext, source: null, ref outcome);
            }
        }
        AfterPump(peer, outcome);
    }

    /// <summary>
    /// On the handshake thread: the session goes to the store (a bounded wait, <see cref="DtlsOptions.StoreTimeout"/>).
    /// True: stored. False: refused (a CID collision, the credential revoked meanwhile): the session stays local, and
    /// since no one else can hold its keys its sequence numbers are unbounded. Null: failed or timed out, outcome
    /// unknown: the session keeps its first limit and is stored again at its next checkpoint.
    /// </summary>
    private bool? StoreBeforeFinished(DtlsPeer peer, DtlsSessionSnapshot snapshot, long limit)
    {
        try
        {
            var stored = _store!.StoreAsync(snapshot, peer.LeaseId, limit, _time.GetUtcNow() + _options.SessionIdleTimeout, retry: false, _stop.Token)
                .WaitAsync(_options.StoreTimeout).GetAwaiter().GetResult();
            _metrics.SessionStored(stored);
            return stored;
        }
        catch (Exception ex)
        {
            StoreCallFailed(peer.SessionId, "store", ex);
            return null;
        }
    }

    /// <summary>
    /// The receive window a session starts with: the client's Finished is record 0 of epoch 1 (RFC 6347 §4.1), already
    /// taken by BouncyCastle, so a copy of it is a replay (and proves nothing to a gateway asked to take the session over).
    /// </summary>
    private static ReplayWindow HandshakeReplayWindow()
    {
        var window = default(ReplayWindow);
        window.Mark(0);
        return window;
    }

    /// <summary>
    /// The first sequence number of ours after the handshake: one past the highest epoch-1 record BouncyCastle sent in
    /// its last flight (its Finished, sequence 0, RFC 6347 §4.1), so that no number is used twice with the new keys.
    /// </summary>
    private static long NextSequenceAfter(byte[]? flight, int sendCidLength)
    {
        long next = 1;
        var rest = flight.AsSpan();
        while (DtlsRecord.TryRead(rest, sendCidLength, out var record, out var consumed))
        {
            if (record.Epoch == SessionRecordLayer.Epoch)
            {
                next = Math.Max(next, record.Sequence + 1);
            }
            rest = rest[consumed..];
        }
        return next;
    }

    [ThreadStatic]
    private static byte[]? t_queued;

    [ThreadStatic]
    private static byte[]? t_plaintext;
}
