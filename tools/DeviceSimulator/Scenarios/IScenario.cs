using System.Text.Json.Nodes;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// One load pattern. <see cref="SetupAsync"/> runs before the clock starts (connections, handshakes, Observe
/// registrations); <see cref="RunAsync"/> is the measured window; <see cref="Report"/> adds the scenario's own figures.
/// </summary>
internal interface IScenario
{
    /// <summary>What the headline rate counts ("requests", "handshakes", "blocks", "notifications").</summary>
    string Unit { get; }

    Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct);

    Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct);

    /// <summary>The count the headline rate is made of, read live for the progress line.</summary>
    long Count(RunContext context);

    void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds);
}

internal static class ScenarioFactory
{
    public static IScenario Create(string name) => name switch
    {
        "telemetry" or "get" => new RequestScenario(name == "telemetry"),
        "handshakes" => new HandshakeStormScenario(),
        "observe-commands" => new ObserveCommandsScenario(),
        "firmware" => new FirmwareScenario(),
        "sessions" => new SessionsScenario(),
        "telemetry-audit" => new AuditedTelemetryScenario(),
        "device-flood" => new DeviceFloodScenario(),
        "observe-ping" => new ObservePingScenario(),
        _ => throw new ArgumentException("unknown scenario " + name),
    };
}
