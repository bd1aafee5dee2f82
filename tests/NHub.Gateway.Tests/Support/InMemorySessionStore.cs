using System.Collections.Concurrent;
using NHub.Gateway.Transport.Dtls;
using NHub.Grains;

namespace NHub.Gateway.Tests.Support;

/// <summary>
/// The session store's contract (<see cref="IDtlsSessionStore"/>, as <c>DtlsSessionGrain</c> implements it) in memory,
/// shared by several transports in one test, each with its own gateway id. The grain is tested on its own in
/// NHub.Grains.Tests; this is for the transport's side of the protocol.
/// </summary>
public sealed class InMemorySessionStore
{
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);

    public sealed class Entry
    {
        public required DtlsSessionSnapshot Snapshot { get; init; }
        public Guid Owner { get; set; }
        public Guid Lease { get; set; }
        public long Limit { get; set; }
        public DtlsReplayMark Replay { get; set; } = new(0, 1);
        public int Takeovers { get; set; }
    }

    public IReadOnlyDictionary<string, Entry> Sessions => _sessions;

    /// <summary>The next Store throws (the store is down); with <see cref="StoreLandsBeforeFailing"/>, after writing (a timeout whose write landed).</summary>
    public bool FailNextStore { get; set; }

    public bool StoreLandsBeforeFailing { get; set; }

    /// <summary>The store as gateway <paramref name="gatewayId"/> sees it.</summary>
    public IDtlsSessionStore For(Guid gatewayId) => new View(this, gatewayId);

    private sealed class View(InMemorySessionStore store, Guid gateway) : IDtlsSessionStore
    {
        private static string Key(byte[] cid) => Convert.ToHexStringLower(cid);

        public Task<bool> StoreAsync(DtlsSessionSnapshot session, Guid leaseId, long writeSequenceLimit, DateTimeOffset expiresAt, bool retry, CancellationToken cancellationToken)
        {
            var entry = new Entry { Snapshot = session, Owner = gateway, Lease = leaseId, Limit = writeSequenceLimit };
            if (store.FailNextStore)
            {
                store.FailNextStore = false;
                if (store.StoreLandsBeforeFailing)
                {
                    store._sessions.TryAdd(Key(session.ReceiveConnectionId), entry);
                }
                return Task.FromException<bool>(new TimeoutException("the store did not answer"));
            }
            if (store._sessions.TryGetValue(Key(session.ReceiveConnectionId), out var existing))
            {
                // The same copy again: accepted (the grain's idempotent retry); anything else: refused.
                return Task.FromResult(existing.Lease == leaseId);
            }
            // A retry never writes a new record (IDtlsSessionStore.StoreAsync).
            return Task.FromResult(!retry && store._sessions.TryAdd(Key(session.ReceiveConnectionId), entry));
        }

        public Task<DtlsSessionLease?> LoadAsync(byte[] connectionId, CancellationToken cancellationToken)
        {
            if (!store._sessions.TryGetValue(Key(connectionId), out var e))
            {
                return Task.FromResult<DtlsSessionLease?>(null);
            }
            lock (e)
            {
                return Task.FromResult<DtlsSessionLease?>(new DtlsSessionLease(e.Snapshot, e.Limit, e.Limit, e.Replay, e.Owner, DateTimeOffset.MaxValue));
            }
        }

        public Task<DtlsSessionLease?> TakeOverAsync(byte[] connectionId, Guid leaseId, long blockSize, long provingSequence, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            if (!store._sessions.TryGetValue(Key(connectionId), out var e))
            {
                return Task.FromResult<DtlsSessionLease?>(null);
            }
            lock (e)
            {
                if (provingSequence <= e.Replay.Top)
                {
                    return Task.FromResult<DtlsSessionLease?>(null);
                }
                var start = e.Limit;
                var previous = e.Owner;
                var replay = e.Replay;
                e.Limit = start + blockSize;
                e.Owner = gateway;
                e.Lease = leaseId;
                e.Replay = new DtlsReplayMark(provingSequence, 1);
                e.Takeovers++;
                return Task.FromResult<DtlsSessionLease?>(new DtlsSessionLease(e.Snapshot, start, e.Limit, replay, previous, DateTimeOffset.MaxValue));
            }
        }

        public Task<bool> ExtendAsync(byte[] connectionId, Guid leaseId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            if (!store._sessions.TryGetValue(Key(connectionId), out var e))
            {
                return Task.FromResult(false);
            }
            lock (e)
            {
                if (e.Lease != leaseId)
                {
                    return Task.FromResult(false);
                }
                e.Limit = Math.Max(e.Limit, writeSequenceLimit);
                e.Replay = replay.Top >= e.Replay.Top ? replay : e.Replay;
                return Task.FromResult(true);
            }
        }

        public Task ReleaseAsync(byte[] connectionId, Guid leaseId, DtlsReplayMark replay, CancellationToken cancellationToken)
        {
            if (store._sessions.TryGetValue(Key(connectionId), out var e))
            {
                lock (e)
                {
                    if (e.Lease == leaseId)
                    {
                        e.Replay = replay.Top >= e.Replay.Top ? replay : e.Replay;
                        e.Owner = Guid.Empty;
                        e.Lease = Guid.Empty;
                    }
                }
            }
            return Task.CompletedTask;
        }

        public Task RemoveAsync(byte[] connectionId, Guid leaseId, CancellationToken cancellationToken)
        {
            if (store._sessions.TryGetValue(Key(connectionId), out var e) && e.Lease == leaseId)
            {
                store._sessions.TryRemove(Key(connectionId), out _);
            }
            return Task.CompletedTask;
        }
    }
}
