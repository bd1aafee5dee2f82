namespace NHub.Grains.Services;

/// <summary>
/// Ends a device's sessions in the session table the gateways write themselves (PostgreSQL <c>nhub_dtls_sessions</c>,
/// docs/stateless-gateway.md): called by the twin, after its own state write, when a credential is revoked (that
/// identity's sessions) or the device is deleted (all of them). The revoked identities are also recorded, so a
/// session whose handshake raced the revocation (its key looked up before, its row written after the erase) is
/// refused at takeover without asking any grain. Sessions in the grain store are erased through the twin's own list.
/// Embedded mode has no table: nothing to do.
/// </summary>
public interface IDtlsSessionEraser
{
    /// <summary>
    /// Records <paramref name="revokedIdentities"/> as revoked now and erases their sessions, or every session of the
    /// device when <paramref name="wholeDevice"/>; the number of sessions erased.
    /// </summary>
    Task<int> EraseAsync(string deviceId, IReadOnlyCollection<string> revokedIdentities, bool wholeDevice, CancellationToken cancellationToken);
}
