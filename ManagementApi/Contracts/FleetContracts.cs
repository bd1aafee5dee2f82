using NHub.Grains;

namespace NHub.ManagementApi.Contracts;

/// <summary>Devices whose last message came over <c>transport</c> (<c>none</c>: never seen).</summary>
public sealed record TransportCountResponse(DeviceTransport Transport, long Devices, long Online);

/// <summary>The gateways' totals: how many report, how many stopped reporting, their sessions and Observe relations.</summary>
public sealed record GatewayTotalsResponse(int Up, int Down, long DtlsSessions, long ObserveRelations);

/// <summary>Body of <c>GET /fleet/summary</c>: counts over the whole registry (one aggregate query) and the gateways.</summary>
public sealed record FleetSummaryResponse(
    long Devices,
    long Online,
    long Offline,
    IReadOnlyList<TransportCountResponse> ByTransport,
    long DevicesWithPendingCommands,
    long PendingCommands,
    long FirmwareDownloads,
    GatewayTotalsResponse Gateways);

/// <summary>
/// One row of the fleet list, from the registry. <c>pending_commands</c> is as of the twin's last command change;
/// <c>firmware_downloading</c> is the version being downloaded, null when none is in progress.
/// </summary>
public sealed record FleetDeviceResponse(
    string DeviceId,
    string? Model,
    bool Online,
    DateTimeOffset? LastSeen,
    DeviceTransport Transport,
    int PendingCommands,
    string? FirmwareDownloading,
    DateTimeOffset CreatedAt)
{
    internal static FleetDeviceResponse From(DeviceSummary s) =>
        new(s.DeviceId, s.Model, s.Online, s.LastSeen, s.Transport, s.PendingCommands, s.FirmwareDownloading, s.CreatedAt);
}

/// <summary>A page of the fleet list: <c>total</c> counts every match.</summary>
public sealed record FleetDevicePageResponse(IReadOnlyList<FleetDeviceResponse> Items, long Total, int Offset, int Limit);

/// <summary>A recently seen device with its newest telemetry message (null when the twin keeps none).</summary>
public sealed record RecentDeviceResponse(FleetDeviceResponse Device, TelemetryMessageResponse? LastTelemetry);

/// <summary>Body of <c>GET /fleet/recent</c>: most recently seen first.</summary>
public sealed record RecentDevicesResponse(IReadOnlyList<RecentDeviceResponse> Items);

/// <summary>A device downloading firmware, with its progress from the twin.</summary>
public sealed record FirmwareDownloadResponse(FleetDeviceResponse Device, FirmwareProgressResponse? Progress);

/// <summary>Body of <c>GET /fleet/firmware</c>: downloads in progress, by device id.</summary>
public sealed record FirmwareDownloadPageResponse(IReadOnlyList<FirmwareDownloadResponse> Items, long Total, int Offset, int Limit);

/// <summary>
/// One gateway as it last reported (every <c>report_period_seconds</c>); <c>up</c> is false after three missed reports.
/// </summary>
public sealed record GatewayResponse(
    Guid GatewayId,
    string Host,
    bool Up,
    DateTimeOffset StartedAt,
    DateTimeOffset LastReportAt,
    int DtlsSessions,
    int DtlsConnectionIdSessions,
    int ObserveRelations,
    IReadOnlyList<string> Endpoints,
    double ReportPeriodSeconds)
{
    internal static GatewayResponse From(GatewayEntry e)
    {
        var s = e.Status;
        return new(s.GatewayId, s.Host, e.Up, s.StartedAt, e.LastReportAt, s.DtlsSessions, s.DtlsConnectionIdSessions,
            s.ObserveRelations, s.Endpoints, s.ReportPeriod.TotalSeconds);
    }
}

/// <summary>Body of <c>GET /fleet/gateways</c>: up gateways first.</summary>
public sealed record GatewayListResponse(IReadOnlyList<GatewayResponse> Items);
