namespace NHub.ManagementApi.Contracts;

/// <summary>SIM details of a cellular device.</summary>
public sealed record SimDto(string? Iccid = null, string? Msisdn = null, string? Operator = null)
{
    internal static SimDto? From(SimDetails? sim) => sim is null ? null : new(sim.Iccid, sim.Msisdn, sim.Operator);

    internal SimDetails ToDetails() => new(Iccid, Msisdn, Operator);
}

/// <summary>Body of <c>POST /devices</c>.</summary>
public sealed record CreateDeviceRequest(string? DeviceId, string? Model = null, string? Serial = null, string? Imei = null, SimDto? Sim = null);

/// <summary>
/// Body of <c>PATCH /devices/{device_id}</c>: a field that is absent or null is left unchanged; an empty string clears
/// it. <c>sim</c> merges the same way, field by field.
/// </summary>
public sealed record UpdateDeviceRequest(string? Model = null, string? Serial = null, string? Imei = null, SimDto? Sim = null);

/// <summary>
/// The device twin: record, connectivity, credentials (never keys), pending commands, firmware progress.
/// <c>auto_provisioned</c>: created by development auto-provisioning (a plain-CoAP request for an unknown id), not by the API.
/// </summary>
public sealed record DeviceResponse(
    string DeviceId,
    string? Model,
    string? Serial,
    string? Imei,
    SimDto? Sim,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    bool Online,
    DateTimeOffset? LastSeen,
    string? LastPeer,
    DeviceTransport Transport,
    IReadOnlyList<CredentialResponse> Credentials,
    int PendingCommands,
    FirmwareProgressResponse? Firmware,
    bool AutoProvisioned)
{
    internal static DeviceResponse From(DeviceTwin twin)
    {
        var r = twin.Record;
        var c = twin.Connectivity;
        return new(r.DeviceId, r.Model, r.Serial, r.Imei, SimDto.From(r.Sim), twin.CreatedAt, twin.UpdatedAt,
            c.Online, c.LastSeen, c.LastPeerAddress, c.LastTransport,
            [.. twin.Credentials.Select(CredentialResponse.From)], twin.PendingCommands,
            twin.Firmware is null ? null : FirmwareProgressResponse.From(twin.Firmware), twin.AutoProvisioned);
    }
}

/// <summary>One row of the device list (read from the registry; no device grain is activated).</summary>
public sealed record DeviceSummaryResponse(
    string DeviceId,
    string? Model,
    string? Serial,
    string? Imei,
    bool Online,
    DateTimeOffset? LastSeen,
    DateTimeOffset CreatedAt)
{
    internal static DeviceSummaryResponse From(DeviceSummary s) => new(s.DeviceId, s.Model, s.Serial, s.Imei, s.Online, s.LastSeen, s.CreatedAt);
}

/// <summary>A page of devices: <c>total</c> counts every match, <c>items</c> holds at most <c>limit</c> from <c>offset</c>.</summary>
public sealed record DevicePageResponse(IReadOnlyList<DeviceSummaryResponse> Items, long Total, int Offset, int Limit);
