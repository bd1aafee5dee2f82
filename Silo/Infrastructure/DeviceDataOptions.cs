using System.ComponentModel.DataAnnotations;

namespace NHub.Silo.Infrastructure;

/// <summary>Where device data goes on NATS JetStream (section <c>Nats:DeviceData</c>).</summary>
public sealed class DeviceDataOptions
{
    public const string Section = "Nats:DeviceData";

    /// <summary>JetStream stream holding telemetry; created (or updated) at start.</summary>
    [RegularExpression("^[A-Za-z0-9_-]+$", ErrorMessage = "Nats:DeviceData:TelemetryStream may contain only letters, digits, '-' and '_'")]
    public string TelemetryStream { get; set; } = "NHUB_TELEMETRY";

    /// <summary>Telemetry of device X is published on <c>{prefix}.X</c>.</summary>
    [RegularExpression("^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$", ErrorMessage = "Nats:DeviceData:TelemetrySubjectPrefix must be dot-separated NATS tokens")]
    public string TelemetrySubjectPrefix { get; set; } = "nhub.telemetry";

    [RegularExpression("^[A-Za-z0-9_-]+$", ErrorMessage = "Nats:DeviceData:EventsStream may contain only letters, digits, '-' and '_'")]
    public string EventsStream { get; set; } = "NHUB_EVENTS";

    /// <summary>Lifecycle events of device X are published on <c>{prefix}.X</c>.</summary>
    [RegularExpression("^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$", ErrorMessage = "Nats:DeviceData:EventsSubjectPrefix must be dot-separated NATS tokens")]
    public string EventsSubjectPrefix { get; set; } = "nhub.events";

    /// <summary>
    /// JetStream de-duplication window (Nats-Msg-Id). At least RFC 7252's EXCHANGE_LIFETIME (247 s), so a CON
    /// retransmitted to another gateway after a failover is still recognised as a duplicate.
    /// </summary>
    [Range(typeof(TimeSpan), "00:04:07", "1.00:00:00", ErrorMessage = "Nats:DeviceData:DuplicateWindow must be between 247 s (EXCHANGE_LIFETIME) and 1 day")]
    public TimeSpan DuplicateWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long telemetry is retained in the stream.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00", ErrorMessage = "Nats:DeviceData:MaxAge must be between 1 minute and 10 years")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Longest wait for the JetStream ack before the device gets 5.03.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30", ErrorMessage = "Nats:DeviceData:PublishTimeout must be between 50 ms and 30 s")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Max-Age of the 5.03 answer: when the device should try again.</summary>
    [Range(1, 3600, ErrorMessage = "Nats:DeviceData:RetryAfterSeconds must be between 1 and 3600")]
    public int RetryAfterSeconds { get; set; } = 10;
}
