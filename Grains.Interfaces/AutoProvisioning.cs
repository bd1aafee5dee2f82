using System.ComponentModel.DataAnnotations;
using Orleans.Concurrency;

namespace NHub.Grains;

/// <summary>
/// Development auto-provisioning (section <c>Devices</c>, docs/device-guide.md): a plain-CoAP request naming an
/// unknown device creates it, so the guide's examples work on a fresh platform without provisioning first. Never
/// over DTLS (a DTLS device is authenticated by a credential, which only exists for a provisioned device). Bounded
/// twice: a cap on the devices it may create (cluster-wide) and a per-source rate at each gateway.
/// </summary>
public sealed class AutoProvisionOptions
{
    public const string Section = "Devices";

    /// <summary>Unset: on when PostgreSQL is not configured (embedded/development), off in production.</summary>
    public bool? AutoProvisionPlain { get; set; }

    /// <summary>Most devices auto-provisioning may create; beyond it unknown devices get 4.04 with a diagnostic.</summary>
    [Range(0, 1_000_000, ErrorMessage = "Devices:AutoProvisionMaxDevices must be between 0 and 1000000")]
    public int AutoProvisionMaxDevices { get; set; } = 1000;

    /// <summary>
    /// New devices one source address (IPv4 address, IPv6 /64) may create per minute, in bursts of as many; beyond
    /// it 4.29 Too Many Requests (RFC 8516) with Max-Age.
    /// </summary>
    [Range(1, 60_000, ErrorMessage = "Devices:AutoProvisionPerSourcePerMinute must be between 1 and 60000")]
    public int AutoProvisionPerSourcePerMinute { get; set; } = 60;

    /// <summary>Whether auto-provisioning is on, given whether grain state is persisted (PostgreSQL configured).</summary>
    public bool IsEnabled(bool persisted) => AutoProvisionPlain ?? !persisted;
}

public enum AutoProvisionOutcome
{
    /// <summary>The device exists now (created by this call, or already there).</summary>
    Provisioned = 0,

    /// <summary><see cref="AutoProvisionOptions.AutoProvisionMaxDevices"/> devices are auto-provisioned already.</summary>
    CapReached = 1,
}

/// <summary>
/// The cluster-wide count of auto-provisioned devices (one activation, key 0): creates a device only while under the
/// cap, so a fuzzer sending random ids through any number of gateways creates at most the cap.
/// </summary>
[Alias("nhub.IAutoProvisioningGrain")]
public interface IAutoProvisioningGrain : IGrainWithIntegerKey
{
    /// <summary>Creates <paramref name="deviceId"/> as auto-provisioned when it does not exist and the cap allows.</summary>
    [Alias("Provision")]
    Task<AutoProvisionOutcome> Provision(string deviceId, string peerAddress, DeviceTransport transport);

    /// <summary>An auto-provisioned device was deleted: it no longer counts toward the cap. One-way, so a delete never waits on a provisioning in flight.</summary>
    [Alias("Released"), OneWay]
    Task Released(string deviceId);

    /// <summary>How many auto-provisioned devices exist.</summary>
    [Alias("Count")]
    Task<int> Count();
}
