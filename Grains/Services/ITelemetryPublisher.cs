namespace NHub.Grains.Services;

/// <summary>
/// Where accepted telemetry goes: NATS JetStream in production (accepted = the JetStream ack arrived), the twin's
/// in-memory buffer in embedded mode. Implementations never throw for backend trouble: they return Unavailable.
/// </summary>
public interface ITelemetryPublisher
{
    /// <summary>True when accepted data is durable outside the twin (JetStream); false in embedded mode.</summary>
    bool IsDurable { get; }

    ValueTask<TelemetryResult> PublishAsync(string deviceId, TelemetryReport report, CancellationToken cancellationToken);
}

/// <summary>Device lifecycle events (online, offline, command delivered, firmware completed, credential revoked, deleted, auto-provisioned).</summary>
public interface IDeviceEventPublisher
{
    /// <summary>Best effort: a lost event is logged and counted, never fails the grain operation that raised it.</summary>
    ValueTask PublishAsync(DeviceEvent deviceEvent);
}

/// <summary>One lifecycle event, serialised as JSON on <c>nhub.events.&lt;device_id&gt;</c>.</summary>
public sealed record DeviceEvent(string DeviceId, string Type, DateTimeOffset At, IReadOnlyDictionary<string, object?>? Data = null);

public static class DeviceEventTypes
{
    public const string Online = "online";
    public const string Offline = "offline";
    public const string CommandDelivered = "command_delivered";
    public const string FirmwareCompleted = "firmware_completed";
    public const string CredentialRevoked = "credential_revoked";

    /// <summary>A certificate or raw-public-key credential was registered, or enrolled by a gateway (data: credential_id, auth_type, fingerprint, source).</summary>
    public const string CredentialAdded = "credential_added";
    public const string Deleted = "deleted";

    /// <summary>Created by development auto-provisioning (data: peer, transport).</summary>
    public const string AutoProvisioned = "auto_provisioned";
}
