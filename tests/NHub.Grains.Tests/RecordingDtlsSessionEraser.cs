using System.Collections.Concurrent;
using NHub.Grains.Services;

namespace NHub.Grains.Tests;

/// <summary>An <see cref="IDtlsSessionEraser"/> that records each call: (device, credential identity or null for all).</summary>
public sealed class RecordingDtlsSessionEraser : IDtlsSessionEraser
{
    private readonly ConcurrentQueue<(string DeviceId, string? PskIdentity)> _calls = new();

    public IReadOnlyList<(string DeviceId, string? PskIdentity)> CallsFor(string deviceId) => [.. _calls.Where(c => c.DeviceId == deviceId)];

    public Task<int> EraseAsync(string deviceId, string? pskIdentity, CancellationToken cancellationToken)
    {
        _calls.Enqueue((deviceId, pskIdentity));
        return Task.FromResult(0);
    }
}
