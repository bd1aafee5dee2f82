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
        public long Limit { get; set; }
        public DtlsReplayMark Replay { get; set; } = new(0, 1);
        public int Takeovers { get; set; }
    }

    public IReadOnlyDictionary<string, Entry> Sessions => _sessions;

    /// <summary>The store as gateway <paramref name="gatewayId"/> sees it.</summary>
    public IDtlsSessionStore For(Guid gatewayId) => new View(this, gatewayId);

    private sealed class View(InMemorySessionStore store, Guid gateway) : IDtlsSessionStore
    {
        private static string Key(byte[] cid) => Convert.ToHexStringLower(cid);

        public Task<bool> StoreAsync(DtlsSessionSnapshot session, long writeSequenceLimit, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            var entry = new Entry { Snapshot = session, Owner = gateway, Limit = writeSequenceLimit };
            return Task.FromResult(store._sessions.TryAdd(Key(session.ReceiveConnectionId), entry));
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

        public Task<DtlsSessionLease?> TakeOverAsync(byte[] connectionId, long blockSize, CancellationToken cancellationToken)
        {
            if (!store._sessions.TryGetValue(Key(connectionId), out var e))
            {
                return Task.FromResult<DtlsSessionLease?>(null);
            }
            lock (e)
            {
                var start = e.Limit;
                var previous = e.Owner;
                e.Limit = start + blockSize;
                e.Owner = gateway;
                e.Takeovers++;
                return Task.FromResult<DtlsSessionLease?>(new DtlsSessionLease(e.Snapshot, start, e.Limit, e.Replay, previous, DateTimeOffset.MaxValue));
            }
        }

        public Task<bool> ExtendAsync(byte[] connectionId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            if (!store._sessions.TryGetValue(Key(connectionId), out var e))
            {
                return Task.FromResult(false);
            }
            lock (e)
            {
                if (e.Owner != gateway)
                {
                    return Task.FromResult(false);
                }
                e.Limit = Math.Max(e.Limit, writeSequenceLimit);
                e.Replay = replay;
                return Task.FromResult(true);
            }
        }

        public Task ReleaseAsync(byte[] connectionId, DtlsReplayMark replay, CancellationToken cancellationToken)
        {
            if (store._sessions.TryGetValue(Key(connectionId), out var e))
            {
                lock (e)
                {
                    if (e.Owner == gateway)
                    {
                        e.Replay = replay;
                        e.Owner = Guid.Empty;
                    }
                }
            }
            return Task.CompletedTask;
        }

        public Task RemoveAsync(byte[] connectionId, CancellationToken cancellationToken)
        {
            if (store._sessions.TryGetValue(Key(connectionId), out var e) && e.Owner == gateway)
            {
                store._sessions.TryRemove(Key(connectionId), out _);
            }
            return Task.CompletedTask;
        }
    }
}
