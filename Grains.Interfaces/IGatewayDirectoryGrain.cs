namespace NHub.Grains;

/// <summary>What one CoAP gateway reports about itself every <c>Gateway:StatusReportPeriod</c>.</summary>
[GenerateSerializer, Immutable, Alias("nhub.GatewayStatus")]
public sealed record GatewayStatus(
    [property: Id(0)] Guid GatewayId,
    [property: Id(1)] string Host,
    [property: Id(2)] DateTimeOffset StartedAt,
    [property: Id(3)] int DtlsSessions,
    [property: Id(4)] int DtlsConnectionIdSessions,
    [property: Id(5)] int ObserveRelations,
    [property: Id(6)] IReadOnlyList<string> Endpoints,
    [property: Id(7)] TimeSpan ReportPeriod);

/// <summary>A gateway as the directory last heard of it. <see cref="Up"/>: a report came within three report periods.</summary>
[GenerateSerializer, Immutable, Alias("nhub.GatewayEntry")]
public sealed record GatewayEntry(
    [property: Id(0)] GatewayStatus Status,
    [property: Id(1)] DateTimeOffset LastReportAt,
    [property: Id(2)] bool Up);

/// <summary>
/// The cluster's list of CoAP gateways and their session counts, for the fleet page. Held in memory by one activation
/// (key 0): each gateway reports every few seconds, so after a silo failure the list is whole again within one
/// report period. A gateway silent for an hour is forgotten.
/// </summary>
[Alias("nhub.IGatewayDirectoryGrain")]
public interface IGatewayDirectoryGrain : IGrainWithIntegerKey
{
    [Alias("Report")]
    Task Report(GatewayStatus status);

    /// <summary>Every known gateway, up ones first, then by host.</summary>
    [Alias("List")]
    Task<IReadOnlyList<GatewayEntry>> List();

    /// <summary>The gateway stopped cleanly: drop it now instead of showing it down.</summary>
    [Alias("Leave")]
    Task Leave(Guid gatewayId);
}
