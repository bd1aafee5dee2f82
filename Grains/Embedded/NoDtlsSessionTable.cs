using NHub.Grains.Services;

namespace NHub.Grains.Embedded;

/// <summary>No session table (embedded mode): the grain store is the only store, erased through the twin's own list.</summary>
public sealed class NoDtlsSessionTable : IDtlsSessionEraser
{
    public Task<int> EraseAsync(string deviceId, IReadOnlyCollection<string> revokedIdentities, bool wholeDevice, CancellationToken cancellationToken) => Task.FromResult(0);
}
