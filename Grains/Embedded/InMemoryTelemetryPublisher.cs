using NHub.Grains.Services;

namespace NHub.Grains.Embedded;

/// <summary>
/// Embedded mode (no NATS): accepted telemetry is kept only in the twin's bounded recent-telemetry buffer, which
/// the REST API reads. Nothing is durable, as the silo's start-up log says.
/// </summary>
public sealed class InMemoryTelemetryPublisher : ITelemetryPublisher
{
    private static readonly TelemetryResult Accepted = new(TelemetryOutcome.Accepted);

    public bool IsDurable => false;

    public ValueTask<TelemetryResult> PublishAsync(string deviceId, TelemetryReport report, CancellationToken cancellationToken) => ValueTask.FromResult(Accepted);
}
