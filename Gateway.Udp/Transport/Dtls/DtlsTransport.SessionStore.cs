using System.Collections.Concurrent;
using System.Net;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Sessions kept outside the process (<see cref="IDtlsSessionStore"/>, docs/stateless-gateway.md): stored when the
/// handshake completes, their sequence reservation extended and replay window checkpointed while they run, taken over
/// when a record arrives with a CID this gateway does not hold, dropped when another gateway took them, released on
/// graceful shutdown and erased when they end. Every store call runs off the receive path; no record waits for one,
/// except the records of a session being taken over.
/// </summary>
public sealed partial class DtlsTransport
{
    /// <summary>Records of one CID that wait for its takeover (bounded; more are dropped, the device retransmits).</summary>
    private const int TakeoverQueueLimit = 8;

    private readonly ConcurrentDictionary<UInt128, PendingTakeover> _takeovers = new();
    private readonly ConcurrentDictionary<UInt128, long> _unknownConnectionIds = new();
    private int _takeoversInFlight;

    /// <summary>Sessions taken over from the store since start.</summary>
    public long TakeoverCount => Interlocked.Read(ref _takeoverCount);

    private long _takeoverCount;

    private sealed class PendingTakeover
    {
        public List<(byte[] Datagram, SocketAddress Source)> Queued { get; } = [];

        /// <summary>Under the instance's lock: the takeover finished; a record that finds this set looks the CID up again.</summary>
        public bool Done { get; set; }
    }

    /// <summary>A store retried at a checkpoint (or by the sweep), for a session whose first store failed or timed out.</summary>
    private async Task StoreSessionAsync(DtlsPeer peer, DtlsSessionSnapshot snapshot, long limit)
    {
        bool stored;
        try
        {
            stored = await _store!.StoreAsync(snapshot, peer.LeaseId, limit, _time.GetUtcNow() + _options.SessionIdleTimeout, _stop.Token);
        }
        catch (Exception ex)
        {
            // Unknown whether it landed: keep the snapshot and the limit; the next checkpoint stores it again.
            StoreCallFailed(peer.SessionId, "store", ex);
            return;
        }
        lock (peer.Gate)
        {
            peer.PendingSnapshot = null;
            if (stored)
            {
                peer.Stored = true;
                peer.LastCheckpoint = _time.GetTimestamp();
            }
        }
        _metrics.SessionStored(stored);
        if (!stored)
        {
            // Refused on a retry: the first attempt may have landed and the session been taken over since (or the
            // credential revoked). Whoever holds it now leases numbers past our limit, which we must not cross: unlike
            // a refusal at the handshake, this copy cannot go on alone. The device's next record finds the owner.
            ClosePeer(peer, SessionCloseReason.Moved, notify: false);
            return;
        }
        if (stored && peer.State == PeerState.Closed)
        {
            // closed while the store wrote it: erase it again
            ForgetStored(peer, SessionCloseReason.Failed);
        }
    }

    /// <summary>
    /// Writes the session's sequence limit (the pending extension, if any) and replay window to the store, once at a
    /// time per session. False from the store means another gateway owns the session now: the local copy is dropped.
    /// </summary>
    private void Checkpoint(DtlsPeer peer)
    {
        if (_store is null)
        {
            return;
        }
        long limit;
        DtlsReplayMark replay;
        byte[] cid;
        lock (peer.Gate)
        {
            if (peer.CheckpointInFlight || peer.State != PeerState.Established || peer.Records is not { ReceiveConnectionId: { } receiveCid } records)
            {
                return;
            }
            var sequence = records.Sequence;
            limit = sequence.PendingLimit != 0 ? sequence.PendingLimit : sequence.Limit;
            if (!peer.Stored)
            {
                if (peer.PendingSnapshot is { } snapshot)
                {
                    peer.CheckpointInFlight = true;
                    _ = RetryStoreAsync(peer, snapshot, limit);
                }
                return;
            }
            peer.CheckpointInFlight = true;
            var (top, window) = records.CheckpointReplay();
            replay = new DtlsReplayMark(top, window);
            cid = receiveCid;
        }
        _ = ExtendAsync(peer, cid, limit, replay);
    }

    private async Task RetryStoreAsync(DtlsPeer peer, DtlsSessionSnapshot snapshot, long limit)
    {
        try
        {
            await StoreSessionAsync(peer, snapshot, limit);
            lock (peer.Gate)
            {
                if (peer.Stored)
                {
                    peer.Records?.Sequence.Extended(limit);
                }
            }
        }
        finally
        {
            lock (peer.Gate)
            {
                peer.CheckpointInFlight = false;
                peer.Records?.Sequence.ExtensionFailed();
            }
        }
    }

    private async Task ExtendAsync(DtlsPeer peer, byte[] cid, long limit, DtlsReplayMark replay)
    {
        bool owner;
        try
        {
            owner = await _store!.ExtendAsync(cid, peer.LeaseId, limit, replay, _time.GetUtcNow() + _options.SessionIdleTimeout, _stop.Token);
        }
        catch (Exception ex)
        {
            lock (peer.Gate)
            {
                peer.CheckpointInFlight = false;
                peer.Records?.Sequence.ExtensionFailed();
            }
            StoreCallFailed(peer.SessionId, "extend", ex);
            return;
        }
        lock (peer.Gate)
        {
            peer.CheckpointInFlight = false;
            if (owner)
            {
                peer.Records?.Sequence.Extended(limit);
                peer.LastCheckpoint = _time.GetTimestamp();
                return;
            }
        }
        ClosePeer(peer, SessionCloseReason.Moved, notify: false);
    }

    /// <summary>
    /// On the receive loop: a record with a CID no live session here has. With a store, the session may be another
    /// gateway's (it died, or the load balancer moved the device): look it up off the loop, check that the record
    /// authenticates with the stored keys, take it over, and go on with it. Returns false when there is no store.
    /// </summary>
    private bool TryTakeOver(SocketAddress source, ReadOnlySpan<byte> cid, ReadOnlySpan<byte> datagram)
    {
        if (_store is null || _stop.IsCancellationRequested)
        {
            return false;
        }
        var key = PeerTable.Key(cid);
        var now = _time.GetTimestamp();
        if (_unknownConnectionIds.TryGetValue(key, out var until) && now < until)
        {
            _metrics.RecordDropped("unknown_cid");
            return true;
        }
        if (_takeovers.TryGetValue(key, out var pending))
        {
            Enqueue(pending, source, datagram);
            return true;
        }
        if (!_takeoverLimiter.TryAcquire(ToEndPoint(source).Address))
        {
            _metrics.RecordDropped("takeover_rate_limited");
            return true;
        }
        if (Interlocked.Increment(ref _takeoversInFlight) > _options.MaxConcurrentTakeovers)
        {
            Interlocked.Decrement(ref _takeoversInFlight);
            _metrics.RecordDropped("takeover_busy");
            return true;
        }
        pending = new PendingTakeover();
        pending.Queued.Add((datagram.ToArray(), PeerTable.Clone(source)));
        if (!_takeovers.TryAdd(key, pending))
        {
            Interlocked.Decrement(ref _takeoversInFlight);
            if (_takeovers.TryGetValue(key, out var other))
            {
                Enqueue(other, source, datagram);
            }
            return true;
        }
        _ = TakeOverAsync(key, cid.ToArray(), pending);
        return true;
    }

    private void Enqueue(PendingTakeover pending, SocketAddress source, ReadOnlySpan<byte> datagram)
    {
        lock (pending)
        {
            if (!pending.Done && pending.Queued.Count < TakeoverQueueLimit)
            {
                pending.Queued.Add((datagram.ToArray(), PeerTable.Clone(source)));
                return;
            }
        }
        _metrics.RecordDropped("takeover_queue_full");
    }

    private async Task TakeOverAsync(UInt128 key, byte[] cid, PendingTakeover pending)
    {
        var outcome = "error";
        try
        {
            outcome = await TryTakeOverAsync(cid, pending);
        }
        catch (Exception ex)
        {
            StoreCallFailed(0, "takeover", ex);
        }
        finally
        {
            Interlocked.Decrement(ref _takeoversInFlight);
            _metrics.Takeover(outcome);
            if (outcome is not "taken_over")
            {
                // Not looked up again for a while: a CID the store does not know for long; one whose record did not
                // prove anything (forged, replayed, busy) briefly, so a forger cannot keep one session's grain busy
                // and the device's own next record (a retransmission, seconds later) is still looked up.
                var wait = outcome is "unknown" ? _options.UnknownConnectionIdCacheTime : TimeSpan.FromSeconds(1);
                SweepUnknownConnectionIds();
                _unknownConnectionIds[key] = _time.GetTimestamp() + (long)(wait.TotalSeconds * _time.TimestampFrequency);
            }
            _takeovers.TryRemove(key, out _);
            List<(byte[] Datagram, SocketAddress Source)> left;
            lock (pending)
            {
                pending.Done = true;
                left = [.. pending.Queued];
                pending.Queued.Clear();
            }
            if (outcome != "taken_over")
            {
                _metrics.RecordDropped(outcome == "unknown" ? "unknown_cid" : "takeover_failed");
            }
            else if (left.Count > 0 && _peers.TryGetByConnectionId(cid, out var peer))
            {
                // Records that arrived while the takeover ran, in arrival order.
                var plaintext = new byte[_options.MaxDatagramSize];
                foreach (var (datagram, source) in left)
                {
                    OnPeerRecord(peer, datagram, plaintext, source);
                }
            }
        }
    }

    /// <summary>The takeover itself: "taken_over", "unknown" (no such session), or why not.</summary>
    private async Task<string> TryTakeOverAsync(byte[] cid, PendingTakeover pending)
    {
        var stored = await _store!.LoadAsync(cid, _stop.Token);
        if (stored is null)
        {
            return "unknown";
        }
        // Ownership moves only for a record that authenticates with the stored keys and is newer than the stored
        // replay window: a forged record, or a captured one replayed to another gateway, takes nothing over.
        (byte[] Datagram, SocketAddress Source) first;
        lock (pending)
        {
            first = pending.Queued[0];
        }
        if (Disproves(stored, cid.Length, first.Datagram, out var proving) is { } refused)
        {
            return refused;
        }
        // Before ownership moves: is there room here, and is the session not here already (another receive loop's
        // takeover of the same CID that finished meanwhile)?
        if (_peers.TryGetByConnectionId(cid, out _))
        {
            return "already_here";
        }
        if (_peers.Count >= _options.MaxPeers)
        {
            return "full";
        }
        var leaseId = Guid.NewGuid();
        var taken = await _store.TakeOverAsync(cid, leaseId, _options.SequenceBlockSize, proving, _time.GetUtcNow() + _options.SessionIdleTimeout, _stop.Token);
        if (taken is null)
        {
            return "stale"; // gone, or another gateway's takeover used a newer record first
        }
        Install(taken, leaseId, first.Source);
        return "taken_over";
    }

    /// <summary>
    /// Null when the record proves the device holds the session now: it authenticates with the stored keys and is newer
    /// than the stored replay window. Otherwise why not: "auth_failed" (forged, malformed) or "stale" (a replay of an
    /// old record, or one below the checkpoint).
    /// </summary>
    private static string? Disproves(DtlsSessionLease stored, int cidLength, byte[] datagram, out long proving)
    {
        proving = -1;
        var snapshot = stored.Snapshot;
        if (!DtlsRecord.TryRead(datagram, cidLength, out var record, out _) || record.Epoch != SessionRecordLayer.Epoch || !record.UsesConnectionId)
        {
            return "auth_failed";
        }
        using var cipher = DtlsRecordCipher.Create(snapshot.CipherSuite, snapshot.EncryptThenMac, snapshot.Secrets);
        var scratch = new byte[record.Fragment.Length];
        if (!cipher.TryOpen(record.OuterType, record.Epoch, record.Sequence, record.ConnectionId, record.Fragment, scratch, out _, out _))
        {
            return "auth_failed";
        }
        proving = record.Sequence;
        return record.Sequence <= stored.Replay.Top ? "stale" : null;
    }

    /// <summary>
    /// A session leased from the store becomes a live session here, at the address its first record came from. The
    /// address is taken from whoever held it (the NAT gave it to this device): a session without CID there is closed, a
    /// CID session keeps working, found by its CID (as on an RFC 9146 move).
    /// </summary>
    private void Install(DtlsSessionLease lease, Guid leaseId, SocketAddress source)
    {
        var snapshot = lease.Snapshot;
        var records = new SessionRecordLayer(
            DtlsRecordCipher.Create(snapshot.CipherSuite, snapshot.EncryptThenMac, snapshot.Secrets),
            snapshot.ReceiveConnectionId,
            snapshot.SendConnectionId ?? [],
            new SequenceReservation(lease.WriteSequenceStart, lease.WriteSequenceLimit, _options.SequenceBlockSize),
            ReplayWindow.Restored(lease.Replay.Top),
            finalFlight: null);
        var owned = PeerTable.Clone(source);
        var channel = new PeerDatagramChannel(_socket!, owned, _options.MaxDatagramSize, _options.PeerQueueCapacity, _metrics);
        channel.StopBlocking();
        var now = _time.GetTimestamp();
        var peer = new DtlsPeer(owned, ToEndPoint(owned), channel, Interlocked.Increment(ref _nextSessionId), [], now) { LeaseId = leaseId };
        lock (peer.Gate)
        {
            peer.Establish(records, snapshot.PskIdentity, snapshot.SessionKey, _options.MaxDatagramSize);
            peer.Stored = true;
            peer.LastCheckpoint = now;
            peer.LastActivity = now;
            peer.LastReceived = 0; // its first record wakes whatever waits for the device
        }
        var displaced = _peers.AddTakingAddress(peer);
        if (displaced is not null && displaced.ConnectionId is null)
        {
            ClosePeer(displaced, SessionCloseReason.AddressTaken, notify: false);
        }
        _peers.AddSession(peer);
        _metrics.SessionOpened(connectionId: true);
        Interlocked.Increment(ref _takeoverCount);
        DtlsLog.SessionTakenOver(_logger, peer.SessionId, peer.EndPoint, snapshot.PskIdentity, Convert.ToHexString(snapshot.ReceiveConnectionId), lease.PreviousOwner);
        try
        {
            _receiver!.OnPeerResumed(peer.Info!);
        }
        catch (Exception ex)
        {
            DtlsLog.HandlerError(_logger, ex, peer.EndPoint);
        }
    }

    /// <summary>
    /// Another copy took the session with this CID over (pushed by the store): drop the local copy that held
    /// <paramref name="previousLease"/> without a word to the device, whose records now go there. A newer copy of the
    /// same session here (taken back since: the notice was late) and a newer session that reuses the CID stay.
    /// </summary>
    public bool DropMovedSession(ReadOnlySpan<byte> connectionId, string sessionKey, Guid previousLease)
    {
        if (!_peers.TryGetByConnectionId(connectionId, out var peer) || !string.Equals(peer.Info?.SessionKey, sessionKey, StringComparison.Ordinal)
            || peer.LeaseId != previousLease)
        {
            return false;
        }
        return ClosePeer(peer, SessionCloseReason.Moved, notify: false);
    }

    /// <summary>A stored session ended here for good: erase it from the store (not when it moved, or is left to the next gateway).</summary>
    private void ForgetStored(DtlsPeer peer, SessionCloseReason reason)
    {
        if (_store is null || !peer.Stored || reason is SessionCloseReason.Moved or SessionCloseReason.Shutdown || peer.ConnectionId is not { } cid)
        {
            return;
        }
        _ = RemoveAsync(peer.SessionId, cid, peer.LeaseId);
    }

    private async Task RemoveAsync(long sessionId, byte[] cid, Guid leaseId)
    {
        try
        {
            await _store!.RemoveAsync(cid, leaseId, CancellationToken.None);
        }
        catch (Exception ex)
        {
            StoreCallFailed(sessionId, "remove", ex);
        }
    }

    /// <summary>
    /// Graceful shutdown, after the receive path stopped taking records: hand every stored session's replay window to
    /// the store and leave it ownerless, so the next gateway takes it over with the narrowest replay gap. Bounded by
    /// <see cref="DtlsOptions.ReleaseTimeout"/>; a session not released in time is still safe (its sequence limit is
    /// durable), only its replay window is older. Returns how many were released.
    /// </summary>
    private async Task<int> ReleaseStoredAsync()
    {
        if (_store is null)
        {
            return 0;
        }
        var releases = new List<Task>();
        foreach (var peer in _peers.SessionsSnapshot())
        {
            DtlsReplayMark replay;
            byte[] cid;
            lock (peer.Gate)
            {
                if (!peer.Stored || peer.State != PeerState.Established || peer.Records is not { ReceiveConnectionId: { } receiveCid } records)
                {
                    continue;
                }
                var (top, window) = records.Replay;
                replay = new DtlsReplayMark(top, window);
                cid = receiveCid;
            }
            releases.Add(_store.ReleaseAsync(cid, peer.LeaseId, replay, CancellationToken.None));
        }
        if (releases.Count == 0)
        {
            return 0;
        }
        var all = Task.WhenAll(releases);
        try
        {
            await all.WaitAsync(_options.ReleaseTimeout);
        }
        catch (Exception ex)
        {
            StoreCallFailed(0, "release", ex);
        }
        return releases.Count(t => t.IsCompletedSuccessfully);
    }

    /// <summary>A store call failed: counted by operation, logged (the session goes on, see each caller).</summary>
    private void StoreCallFailed(long sessionId, string operation, Exception ex)
    {
        _metrics.StoreFailed(operation);
        DtlsLog.StoreFailed(_logger, sessionId, operation, ex.Message);
    }

    /// <summary>Keeps the negative cache bounded: expired entries go when it is large.</summary>
    private void SweepUnknownConnectionIds()
    {
        if (_unknownConnectionIds.Count < 65536)
        {
            return;
        }
        var now = _time.GetTimestamp();
        foreach (var (key, until) in _unknownConnectionIds)
        {
            if (until <= now)
            {
                _unknownConnectionIds.TryRemove(key, out _);
            }
        }
        if (_unknownConnectionIds.Count >= 65536)
        {
            _unknownConnectionIds.Clear();
        }
    }
}
