using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;

namespace NHub.Gateway.Security;

/// <summary>
/// An asynchronous cache in front of <see cref="IPskCredentialSource"/>. Found credentials live
/// <see cref="CredentialCacheOptions.TimeToLive"/> (5 minutes, the device guide's revocation promise), unknown
/// identities <see cref="CredentialCacheOptions.NegativeTimeToLive"/>. Concurrent misses for one identity share a
/// single lookup; a failed lookup is not cached. <see cref="Invalidate"/> drops an entry at once (pushed revocation).
/// </summary>
public sealed partial class CredentialCache
{
    private readonly IPskCredentialSource _source;
    private readonly CredentialCacheOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly long _ttl;
    private readonly long _negativeTtl;
    private int _count;
    private int _trimming;

    public CredentialCache(IPskCredentialSource source, CredentialCacheOptions options, TimeProvider? timeProvider = null, ILogger<CredentialCache>? logger = null)
    {
        _source = source;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<CredentialCache>.Instance;
        _ttl = ToTimestampDelta(options.TimeToLive);
        _negativeTtl = ToTimestampDelta(options.NegativeTimeToLive);
    }

    public CredentialCacheOptions Options => _options;

    /// <summary>Cached entries (found, unknown or being looked up); approximate under concurrency.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The credential for <paramref name="identity"/> (null: no such identity). Throws when the source fails or
    /// exceeds <see cref="CredentialCacheOptions.LookupTimeout"/>. <paramref name="ct"/> cancels this caller's wait
    /// only, never the shared lookup.
    /// </summary>
    public ValueTask<PskCredential?> GetAsync(string identity, CancellationToken ct = default)
    {
        while (true)
        {
            if (_entries.TryGetValue(identity, out var entry))
            {
                var task = entry.Completion.Task;
                if (!task.IsCompleted)
                {
                    return new ValueTask<PskCredential?>(task.WaitAsync(ct));
                }
                if (task.IsCompletedSuccessfully && _time.GetTimestamp() < Volatile.Read(ref entry.ExpiresAt))
                {
                    return new ValueTask<PskCredential?>(task.Result);
                }
                var fresh = new Entry();
                if (_entries.TryUpdate(identity, fresh, entry))
                {
                    return Lookup(identity, fresh, ct);
                }
                continue; // another caller replaced or removed it first
            }
            var created = new Entry();
            if (_entries.TryAdd(identity, created))
            {
                if (Interlocked.Increment(ref _count) > _options.MaxEntries)
                {
                    Trim();
                }
                return Lookup(identity, created, ct);
            }
        }
    }

    /// <summary>Forgets <paramref name="identity"/>: the next handshake asks the source again.</summary>
    public void Invalidate(string identity)
    {
        if (_entries.TryRemove(identity, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Forgets everything (e.g. after the registry was restored from a backup).</summary>
    public void Clear()
    {
        foreach (var key in _entries.Keys)
        {
            Invalidate(key);
        }
    }

    private ValueTask<PskCredential?> Lookup(string identity, Entry entry, CancellationToken ct)
    {
        _ = RunLookupAsync(identity, entry);
        var task = entry.Completion.Task;
        return task.IsCompleted ? new ValueTask<PskCredential?>(task) : new ValueTask<PskCredential?>(task.WaitAsync(ct));
    }

    private async Task RunLookupAsync(string identity, Entry entry)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.LookupTimeout, _time);
            var pending = _source.FindAsync(identity, timeout.Token);
            var credential = pending.IsCompleted
                ? pending.Result
                : await pending.AsTask().WaitAsync(_options.LookupTimeout, _time, CancellationToken.None);
            if (credential is not null && !string.Equals(credential.Identity, identity, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Credential source answered identity '{credential.Identity}' for '{identity}'");
            }
            Volatile.Write(ref entry.ExpiresAt, _time.GetTimestamp() + (credential is null ? _negativeTtl : _ttl));
            entry.Completion.TrySetResult(credential);
        }
        catch (Exception ex)
        {
            // Not cached: the next handshake retries the source.
            if (_entries.TryRemove(KeyValuePair.Create(identity, entry)))
            {
                Interlocked.Decrement(ref _count);
            }
            LogLookupFailed(_logger, ex, identity);
            entry.Completion.TrySetException(ex);
        }
    }

    /// <summary>Sweeps expired entries; if that is not enough, evicts arbitrary ones down to 90 % of the bound.</summary>
    private void Trim()
    {
        if (Interlocked.Exchange(ref _trimming, 1) == 1)
        {
            return;
        }
        try
        {
            var now = _time.GetTimestamp();
            foreach (var pair in _entries)
            {
                var task = pair.Value.Completion.Task;
                if (task.IsCompleted && now >= Volatile.Read(ref pair.Value.ExpiresAt) && _entries.TryRemove(pair))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
            var target = _options.MaxEntries / 10 * 9;
            foreach (var pair in _entries)
            {
                if (Volatile.Read(ref _count) <= target)
                {
                    break;
                }
                if (pair.Value.Completion.Task.IsCompleted && _entries.TryRemove(pair))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _trimming, 0);
        }
    }

    private long ToTimestampDelta(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private sealed class Entry
    {
        public readonly TaskCompletionSource<PskCredential?> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary><see cref="TimeProvider.GetTimestamp"/> after which the (completed) entry is stale.</summary>
        public long ExpiresAt;
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "PSK credential lookup for identity {Identity} failed")]
    private static partial void LogLookupFailed(ILogger logger, Exception ex, string identity);
}
