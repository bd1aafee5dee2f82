using System.Collections.Concurrent;
using NHub.Grains.Services;

namespace NHub.Grains.Tests;

/// <summary>An <see cref="IDtlsSessionEraser"/> that records each call: the device, the identities it revokes, whether the whole device goes.</summary>
public sealed class RecordingDtlsSessionEraser : IDtlsSessionEraser
{
    private readonly ConcurrentQueue<(string DeviceId, string Identities, bool WholeDevice)> _calls = new();

    /// <summary>The calls for <paramref name="deviceId"/>; identities joined with ',' in the order given.</summary>
    public IReadOnlyList<(string DeviceId, string Identities, bool WholeDevice)> CallsFor(string deviceId) => [.. _calls.Where(c => c.DeviceId == deviceId)];

    public Task<int> EraseAsync(string deviceId, IReadOnlyCollection<string> revokedIdentities, bool wholeDevice, CancellationToken cancellationToken)
    {
        _calls.Enqueue((deviceId, string.Join(',', revokedIdentities), wholeDevice));
        return Task.FromResult(0);
    }
}
