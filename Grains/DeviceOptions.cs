using System.ComponentModel.DataAnnotations;

namespace NHub.Grains;

/// <summary>Device twin behaviour (section <c>Devices</c>).</summary>
public sealed class DeviceOptions
{
    public const string Section = "Devices";

    /// <summary>A device with no message for this long is offline. An Observe relation alone does not keep it online.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00", ErrorMessage = "Devices:OfflineAfter must be between 1 s and 7 days")]
    public TimeSpan OfflineAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// While a device is online a durable reminder re-checks it at this period (in addition to the in-memory timer
    /// that fires exactly at <see cref="OfflineAfter"/>). When the silo holding the twin stops or fails, the reminder
    /// reactivates the twin elsewhere, so the device still goes offline, at most this much late. Raised to the silo's
    /// <c>Orleans:MinimumReminderPeriod</c> when shorter.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Devices:OfflineCheckPeriod must be between 1 s and 1 day")]
    public TimeSpan OfflineCheckPeriod { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// last_seen is written to storage at most this often while a device stays online (every message would not
    /// scale: see the notes on PostgreSQL write rates); online/offline transitions are always written.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Devices:LastSeenPersistInterval must be between 1 s and 1 day")]
    public TimeSpan LastSeenPersistInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Recent telemetry messages kept in memory by each twin for the portal.</summary>
    [Range(1, 1000, ErrorMessage = "Devices:RecentTelemetryCapacity must be between 1 and 1000")]
    public int RecentTelemetryCapacity { get; set; } = 50;

    /// <summary>Pending (queued or sent) commands a device may have; more is refused.</summary>
    [Range(1, 10_000, ErrorMessage = "Devices:MaxPendingCommands must be between 1 and 10000")]
    public int MaxPendingCommands { get; set; } = 100;

    /// <summary>Finished commands (delivered, expired, cancelled) kept for the portal's history.</summary>
    [Range(0, 10_000, ErrorMessage = "Devices:CommandHistoryLimit must be between 0 and 10000")]
    public int CommandHistoryLimit { get; set; } = 100;

    [Range(1, 31_536_000, ErrorMessage = "Devices:MaxCommandTtlSeconds must be between 1 and 31536000")]
    public int MaxCommandTtlSeconds { get; set; } = 30 * 24 * 3600;

    /// <summary>
    /// Stored DTLS sessions a twin keeps track of (docs/stateless-gateway.md); registering one more erases the oldest.
    /// A device normally has one; a few more cover re-handshakes whose old session was never closed.
    /// </summary>
    [Range(1, 1000, ErrorMessage = "Devices:MaxDtlsSessions must be between 1 and 1000")]
    public int MaxDtlsSessions { get; set; } = 16;
}

/// <summary>Credential issuing (section <c>Credentials</c>).</summary>
public sealed class CredentialOptions
{
    public const string Section = "Credentials";

    /// <summary>PSK identities are <c>&lt;prefix&gt;-&lt;device_id&gt;</c> (the guide's example: koru-869181072798893).</summary>
    [Required(ErrorMessage = "Credentials:IdentityPrefix must be set")]
    [RegularExpression("^[A-Za-z0-9_]{1,32}$", ErrorMessage = "Credentials:IdentityPrefix must be 1-32 letters, digits or '_'")]
    public string IdentityPrefix { get; set; } = "koru";
}
