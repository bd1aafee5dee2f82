using System.Collections.Concurrent;
using System.Net;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Taking a session over (docs/stateless-gateway.md): a record with a CID this gateway does not hold is looked up in the
/// store off the receive loop, checked to authenticate with the stored keys and to be newer than the stored replay
/// window, and only then does ownership move; the session is installed here and its queued records processed. Also
/// the other direction: dropping a local copy that another one took over.
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
        var peer = new DtlsPeer(owned, ToEndPoint(owned), channel, Interlocked.Increment(ref _nextSessionId), clientHelloTag: 0, now) { LeaseId = leaseId };
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
