using System.Collections.Concurrent;
using System.Text;
using NHub.Gateway.Security;

namespace NHub.Gateway.Tests.Support;

/// <summary>A device registry in memory, counting lookups (the real one asks the grains).</summary>
public sealed class InMemoryPskSource : IPskCredentialSource
{
    private readonly ConcurrentDictionary<string, PskCredential> _credentials = new(StringComparer.Ordinal);
    private int _lookups;

    public int Lookups => Volatile.Read(ref _lookups);

    /// <summary>When set, lookups wait for it (to test concurrent misses) or fail with its exception.</summary>
    public Task? Gate { get; set; }

    public PskCredential Add(string identity, string key, PskCredentialStatus status = PskCredentialStatus.Active)
    {
        var credential = new PskCredential(identity, "device-" + identity, Encoding.ASCII.GetBytes(key), status);
        _credentials[identity] = credential;
        return credential;
    }

    /// <summary>A certificate (x509) or raw-key (rpk) credential of <paramref name="deviceId"/>, by its identity name.</summary>
    public PskCredential AddKey(string identity, string deviceId, string authType, bool pinned, PskCredentialStatus status = PskCredentialStatus.Active)
    {
        var credential = new PskCredential(identity, deviceId, [], status, authType, pinned);
        _credentials[identity] = credential;
        return credential;
    }

    public void Revoke(string identity) => _credentials[identity] = _credentials[identity] with { Status = PskCredentialStatus.Revoked };

    public void Remove(string identity) => _credentials.TryRemove(identity, out _);

    public async ValueTask<PskCredential?> FindAsync(string identity, CancellationToken ct)
    {
        Interlocked.Increment(ref _lookups);
        if (Gate is { } gate)
        {
            await gate.WaitAsync(ct);
        }
        return _credentials.TryGetValue(identity, out var credential) ? credential : null;
    }
}
