using System.ComponentModel.DataAnnotations;

namespace NHub.Gateway;

/// <summary>What the plain-CoAP port (5683) does.</summary>
public enum PlainMode
{
    /// <summary>Serve plain CoAP (development and test; the embedded default).</summary>
    Enabled,

    /// <summary>Answer every request with 4.01 Unauthorized and a diagnostic saying DTLS is required (the production default).</summary>
    Reject,

    /// <summary>No socket on the plain port.</summary>
    Off,
}

/// <summary>Gateway settings (section <c>Gateway</c>); transport settings live in <c>Gateway:Udp</c> and <c>Gateway:Dtls</c>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Plain CoAP policy. Unset: Enabled in embedded mode, Reject when PostgreSQL is configured (production).</summary>
    public PlainMode? PlainMode { get; set; }

    /// <summary>Serve coaps:// (DTLS 1.2: PSK, certificates, raw public keys).</summary>
    public bool DtlsEnabled { get; set; } = true;

    /// <summary>
    /// This gateway's identity for downlink routing (commands for devices observing here reach it through the gateway
    /// grain of this id). Unset: a new id per start; relations and sessions follow the device to the new process anyway.
    /// </summary>
    public Guid? Id { get; set; }

    /// <summary>
    /// A request the backend could not serve (a grain call failed or timed out: storage down, no silo) is answered
    /// 5.03 with this as Max-Age (RFC 7252 §5.9.3.4), the time after which the device should retry.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Gateway:UnavailableRetryAfter must be between 1 s and 1 h")]
    public TimeSpan UnavailableRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// This gateway's node number, the first byte of every DTLS Connection ID it issues (docs/dtls-connection-id.md):
    /// a load balancer in front of several gateways routes a CID record to its gateway by this byte alone. Give each
    /// gateway behind one address its own value.
    /// </summary>
    [Range(0, 255, ErrorMessage = "Gateway:NodeId must be between 0 and 255")]
    public int NodeId { get; set; }

    /// <summary>Firmware images kept in the gateway's memory (least recently used evicted beyond this).</summary>
    [Range(0, 16L * 1024 * 1024 * 1024, ErrorMessage = "Gateway:FirmwareCacheBytes must be between 0 and 16 GiB")]
    public long FirmwareCacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>A cached firmware image is re-validated against the grain after this long (a replaced image gets a new ETag).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Gateway:FirmwareCacheRevalidateAfter must be between 1 s and 1 day")]
    public TimeSpan FirmwareCacheRevalidateAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A version found not to exist is answered 4.04 from memory for this long (a device retrying a deleted version,
    /// or one probing names, costs one catalog look-up per name per period). An upload is visible after at most this.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Gateway:FirmwareNotFoundCacheTime must be between 0 and 10 min")]
    public TimeSpan FirmwareNotFoundCacheTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>At most this many unknown versions are remembered; beyond it the oldest half is forgotten.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Gateway:FirmwareNotFoundCacheEntries must be between 1 and 1000000")]
    public int FirmwareNotFoundCacheEntries { get; set; } = 10_000;

    /// <summary>
    /// A plain-CoAP device id found not to exist (and not auto-provisioned) is answered 4.04 from memory for this long,
    /// without a grain call: a fuzzer or a misconfigured device repeating an unknown id costs one look-up per period.
    /// A device created through the API is served over plain CoAP after at most this. DTLS devices are never affected.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Gateway:UnknownDeviceCacheTime must be between 0 and 10 min")]
    public TimeSpan UnknownDeviceCacheTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>At most this many unknown device ids are remembered.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Gateway:UnknownDeviceCacheEntries must be between 1 and 1000000")]
    public int UnknownDeviceCacheEntries { get; set; } = 10_000;

    /// <summary>Firmware progress is reported to the device's grain at most this often per download (and at the last block).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00", ErrorMessage = "Gateway:FirmwareProgressInterval must be between 100 ms and 1 h")]
    public TimeSpan FirmwareProgressInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often the gateway reports its session counts to the cluster's gateway directory (the fleet page's gateway
    /// list); a gateway missing three reports is shown down.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Gateway:StatusReportPeriod must be between 1 s and 10 min")]
    public TimeSpan StatusReportPeriod { get; set; } = TimeSpan.FromSeconds(15);
}
