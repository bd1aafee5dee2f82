using System.Collections.Concurrent;
using NHub.Grains.Embedded;
using NHub.Grains.Services;

namespace NHub.Grains.Tests;

/// <summary>
/// The embedded <see cref="InMemoryTelemetryPublisher"/> plus the one behaviour of the production JetStream publisher
/// the twin reacts to: a report whose <c>{device_id}:{exchange}</c> was already accepted is acknowledged as a
/// duplicate (JetStream's Nats-Msg-Id de-duplication), which the twin must not buffer twice.
/// </summary>
public sealed class DeduplicatingTelemetryPublisher : ITelemetryPublisher
{
    private readonly InMemoryTelemetryPublisher _inner = new();
    private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);

    public bool IsDurable => _inner.IsDurable;

    public async ValueTask<TelemetryResult> PublishAsync(string deviceId, TelemetryReport report, CancellationToken cancellationToken)
    {
        var result = await _inner.PublishAsync(deviceId, report, cancellationToken);
        if (result.Outcome == TelemetryOutcome.Accepted && !_seen.TryAdd($"{deviceId}:{report.ExchangeId}", 0))
        {
            return result with { Duplicate = true };
        }
        return result;
    }
}
