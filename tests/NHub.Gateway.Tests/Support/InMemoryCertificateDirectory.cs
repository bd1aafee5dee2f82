using System.Collections.Concurrent;
using NHub.Gateway.Security;
using NHub.Grains;

namespace NHub.Gateway.Tests.Support;

/// <summary>
/// The platform's side of device certificates in memory: the registered authorities, the devices that exist, and the
/// enrollments asked for (recorded in <see cref="Source"/> as the twin would, so the next lookup finds them).
/// </summary>
public sealed class InMemoryCertificateDirectory(InMemoryPskSource source) : IDeviceCertificateDirectory
{
    private readonly ConcurrentDictionary<string, byte> _devices = new(StringComparer.Ordinal);
    private readonly List<byte[]> _authorities = [];
    private long _version;

    public InMemoryPskSource Source { get; } = source;

    public ConcurrentQueue<(string DeviceId, KeyCredentialFacts Facts)> Enrollments { get; } = new();

    public int AnchorFetches => Volatile.Read(ref _fetches);

    private int _fetches;

    public void AddDevice(string deviceId) => _devices[deviceId] = 0;

    public void Trust(byte[] authority)
    {
        lock (_authorities)
        {
            _authorities.Add(authority);
            _version++;
        }
    }

    public void Distrust(byte[] authority)
    {
        lock (_authorities)
        {
            _authorities.RemoveAll(a => a.AsSpan().SequenceEqual(authority));
            _version++;
        }
    }

    /// <summary>When set, fetching the authorities fails with it (the silo unreachable).</summary>
    public Exception? AnchorFailure { get; set; }

    public ValueTask<TrustAnchors> GetTrustAnchorsAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref _fetches);
        if (AnchorFailure is { } failure)
        {
            return ValueTask.FromException<TrustAnchors>(failure);
        }
        lock (_authorities)
        {
            return ValueTask.FromResult(new TrustAnchors(_version, [.. _authorities]));
        }
    }

    public ValueTask<EnrollOutcome> EnrollAsync(string deviceId, KeyCredentialFacts facts, CancellationToken ct)
    {
        Enrollments.Enqueue((deviceId, facts));
        if (!_devices.ContainsKey(deviceId))
        {
            return ValueTask.FromResult(EnrollOutcome.UnknownDevice);
        }
        Source.AddKey(facts.Identity, deviceId, CredentialAuthTypes.X509, pinned: false);
        return ValueTask.FromResult(EnrollOutcome.Enrolled);
    }
}
