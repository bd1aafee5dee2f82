namespace NHub.Grains;

/// <summary>SIM details of a cellular device.</summary>
[GenerateSerializer, Immutable, Alias("nhub.SimDetails")]
public sealed record SimDetails(
    [property: Id(0)] string? Iccid,
    [property: Id(1)] string? Msisdn,
    [property: Id(2)] string? Operator);

/// <summary>What the portal knows about a device: identity and hardware.</summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceRecord")]
public sealed record DeviceRecord(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string? Model,
    [property: Id(2)] string? Serial,
    [property: Id(3)] string? Imei,
    [property: Id(4)] SimDetails? Sim);

/// <summary>
/// A partial change of a device record (PATCH): for each field null keeps the current value, "" clears it, anything
/// else replaces it. <see cref="Sim"/> null keeps the SIM details; its fields follow the same rule.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceRecordPatch")]
public sealed record DeviceRecordPatch(
    [property: Id(0)] string? Model,
    [property: Id(1)] string? Serial,
    [property: Id(2)] string? Imei,
    [property: Id(3)] SimDetails? Sim)
{
    /// <summary>The record with this patch applied.</summary>
    public DeviceRecord ApplyTo(DeviceRecord current)
    {
        var sim = current.Sim;
        if (Sim is { } patch)
        {
            var merged = new SimDetails(Merge(sim?.Iccid, patch.Iccid), Merge(sim?.Msisdn, patch.Msisdn), Merge(sim?.Operator, patch.Operator));
            sim = merged is { Iccid: null, Msisdn: null, Operator: null } ? null : merged;
        }
        return current with
        {
            Model = Merge(current.Model, Model),
            Serial = Merge(current.Serial, Serial),
            Imei = Merge(current.Imei, Imei),
            Sim = sim,
        };
    }

    private static string? Merge(string? current, string? patch) => patch switch
    {
        null => current,
        "" => null,
        _ => patch,
    };
}

/// <summary>How a device reached the platform.</summary>
public enum DeviceTransport
{
    None = 0,
    Coap = 1,
    Coaps = 2,
}

/// <summary>Online status. A device is online from its first message until the inactivity window passes without one.</summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceConnectivity")]
public sealed record DeviceConnectivity(
    [property: Id(0)] bool Online,
    [property: Id(1)] DateTimeOffset? LastSeen,
    [property: Id(2)] string? LastPeerAddress,
    [property: Id(3)] DeviceTransport LastTransport);

/// <summary>The device twin as seen by the portal (never contains key material). <see cref="AutoProvisioned"/>: created by development auto-provisioning, not by the portal.</summary>
[GenerateSerializer, Immutable, Alias("nhub.DeviceTwin")]
public sealed record DeviceTwin(
    [property: Id(0)] DeviceRecord Record,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] DateTimeOffset UpdatedAt,
    [property: Id(3)] DeviceConnectivity Connectivity,
    [property: Id(4)] IReadOnlyList<CredentialSummary> Credentials,
    [property: Id(5)] int PendingCommands,
    [property: Id(6)] FirmwareProgress? Firmware,
    [property: Id(7)] bool AutoProvisioned = false);
