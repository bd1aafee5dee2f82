using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NHub.Gateway.Security;
using NHub.Gateway.Transport;
using NHub.Grains;
using Orleans.Streams;

namespace NHub.Gateway.Backend;

/// <summary>
/// Subscribes to the platform's revocation stream: a revoked identity is dropped from the credential cache and its
/// live DTLS sessions are closed, typically well within a second of the revocation (measured by the tests).
/// </summary>
public sealed partial class RevocationListener(IClusterClient cluster, CredentialCache cache, IEnumerable<ISessionCloser> closers, ILogger<RevocationListener> logger) : IHostedService
{
    private StreamSubscriptionHandle<CredentialRevoked>? _subscription;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var stream = cluster.GetStreamProvider(PlatformStreams.ProviderName)
            .GetStream<CredentialRevoked>(StreamId.Create(PlatformStreams.CredentialRevocations, Guid.Empty));
        _subscription = await stream.SubscribeAsync(OnRevokedAsync);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync();
        }
    }

    private Task OnRevokedAsync(CredentialRevoked revoked, StreamSequenceToken? token)
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
