using Microsoft.Extensions.Logging;
using NHub.Gateway.Security;
using NHub.Gateway.Transport;
using NHub.Grains;

namespace NHub.Gateway.Backend;

/// <summary>
/// Subscribes to the platform's revocation stream: a revoked identity is dropped from the credential cache and its
/// live DTLS sessions are closed, typically well within a second of the revocation (measured by the tests).
/// </summary>
public sealed partial class RevocationListener(IClusterClient cluster, CredentialCache cache, IEnumerable<ISessionCloser> closers, ILogger<RevocationListener> logger)
    : StreamListener<CredentialRevoked>(cluster, PlatformStreams.CredentialRevocations, Guid.Empty)
{
    protected override Task OnItemAsync(CredentialRevoked revoked)
    {
        cache.Invalidate(revoked.PskIdentity);
        var closed = 0;
        foreach (var closer in closers)
        {
            closed += closer.CloseSessions(revoked.PskIdentity);
        }
        LogRevoked(logger, revoked.PskIdentity, revoked.DeviceId, closed);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Credential {Identity} of device {DeviceId} revoked: cache entry dropped, {Closed} live session(s) closed")]
    private static partial void LogRevoked(ILogger logger, string identity, string deviceId, int closed);
}
