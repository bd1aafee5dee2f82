namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Sessions kept outside the process (<see cref="IDtlsSessionStore"/>, docs/stateless-gateway.md): stored when the
/// handshake completes (DtlsTransport.Handshake.cs), their sequence reservation extended and replay window
/// checkpointed while they run, released on graceful shutdown and erased when they end. Taking one over, and dropping
/// a copy taken over elsewhere: DtlsTransport.Takeover.cs. Every store call runs off the receive path; no record waits
/// for one, except the records of a session being taken over.
/// </summary>
public sealed partial class DtlsTransport
{
    /// <summary>A store retried at a checkpoint (or by the sweep), for a session whose first store failed or timed out.</summary>
    private async Task StoreSessionAsync(DtlsPeer peer, DtlsSessionSnapshot snapshot, long limit)
    {
        bool stored;
        try
        {
            stored = await _store!.StoreAsync(snapshot, peer.LeaseId, limit, _time.GetUtcNow() + _options.SessionIdleTimeout, retry: true, _stop.Token);
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
            // credential revoked), or it never landed (a retry writes nothing new). Whoever may hold it leases numbers
            // past our limit, which we must not cross: unlike a refusal at the handshake, this copy cannot go on alone.
            // The device's next record finds the owner, or nobody, and then handshakes again.
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
}
