namespace NHub.Grains.Services;

/// <summary>
/// Erases a device's DTLS sessions from the session table the gateways write themselves (PostgreSQL
/// <c>nhub_dtls_sessions</c>, docs/stateless-gateway.md): called by the twin when a credential is revoked (its
/// sessions) or the device is deleted (all). Sessions in the grain store are erased through the twin's own list.
/// Embedded mode has no table: nothing to do.
/// </summary>
public interface IDtlsSessionEraser
{
    /// <summary>Erases the sessions of <paramref name="pskIdentity"/>, or every session of the device when it is null; the number erased.</summary>
    Task<int> EraseAsync(string deviceId, string? pskIdentity, CancellationToken cancellationToken);
}

/// <summary>No session table (embedded mode): the grain store is the only store.</summary>
public sealed class NoDtlsSessionTable : IDtlsSessionEraser
{
    public Task<int> EraseAsync(string deviceId, string? pskIdentity, CancellationToken cancellationToken) => Task.FromResult(0);
}
