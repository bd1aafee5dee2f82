using System.ComponentModel.DataAnnotations;

namespace NHub.Gateway.Backend;

/// <summary>Where the gateway keeps DTLS sessions with a Connection ID (docs/stateless-gateway.md, "Session store").</summary>
public enum SessionStoreKind
{
    /// <summary>One <c>IDtlsSessionGrain</c> per session, registered with the device twin (the grain storage: memory embedded).</summary>
    Grains,

    /// <summary>The <c>nhub_dtls_sessions</c> table, written by the gateway itself: one row write per handshake and per takeover.</summary>
    Postgres,
}

/// <summary>Session store settings (section <c>Gateway:SessionStore</c>).</summary>
public sealed class SessionStoreOptions
{
    public const string Section = "Gateway:SessionStore";

    /// <summary>Unset: <see cref="SessionStoreKind.Postgres"/> when <c>ConnectionStrings:Postgres</c> is set, else <see cref="SessionStoreKind.Grains"/>.</summary>
    public SessionStoreKind? Kind { get; set; }

    /// <summary>Connections of the gateway's own pool for the session table (each handshake and takeover is one statement).</summary>
    [Range(1, 100, ErrorMessage = "Gateway:SessionStore:MaxConnections must be between 1 and 100")]
    public int MaxConnections { get; set; } = 8;

    /// <summary>Stored sessions a device keeps; storing one more erases its oldest (the same rule as <c>Devices:MaxDtlsSessions</c> for the grain store).</summary>
    [Range(1, 1000, ErrorMessage = "Gateway:SessionStore:MaxSessionsPerDevice must be between 1 and 1000")]
    public int MaxSessionsPerDevice { get; set; } = 16;

    /// <summary>How often each gateway deletes stored sessions past their expiry (nobody resumed them).</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00", ErrorMessage = "Gateway:SessionStore:SweepPeriod must be between 10 s and 1 day")]
    public TimeSpan SweepPeriod { get; set; } = TimeSpan.FromMinutes(5);
}
