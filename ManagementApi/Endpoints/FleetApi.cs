using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using NHub.Grains;
using NHub.ManagementApi.Contracts;
using NHub.ManagementApi.Http;
using NHub.ManagementApi.Telemetry;

namespace NHub.ManagementApi.Endpoints;

/// <summary>
/// <c>/fleet</c>: what the operators' fleet page shows. Lists and counts come from the device registry (indexed
/// queries; no twin is activated), gateways from the gateway directory. Only two routes call twins, and only for the
/// rows of one short page: <c>/fleet/recent</c> (devices seen last, whose twins are active anyway) and
/// <c>/fleet/firmware</c> (devices downloading, likewise).
/// </summary>
public static class FleetApi
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;
    public const int DefaultRecent = 10;
    public const int MaxRecent = 20;
    public const int MaxFirmwarePageSize = 50;

    public static RouteGroupBuilder MapFleetApi(this RouteGroupBuilder api)
    {
        var fleet = api.MapGroup("/fleet").WithTags("Fleet");

        fleet.MapGet("/summary", GetSummary)
            .WithName("GetFleetSummary")
            .WithSummary("Fleet totals")
            .WithDescription("Devices, online and offline, by last transport; devices with pending commands; firmware downloads in progress; gateway totals.");

        fleet.MapGet("/devices", ListFleetDevices)
            .WithName("ListFleetDevices")
            .WithSummary("List devices for the fleet page")
            .WithDescription($"From the registry. Query: status=online|offline, transport=coap|coaps|none, prefix (device id starts with, case-sensitive), " +
                $"pending=true (pending commands only), firmware=true (downloading only), sort=device_id|last_seen, offset, limit (1-{MaxPageSize}, default {DefaultPageSize}).")
            .ProducesValidationProblem();

        fleet.MapGet("/recent", ListRecentDevices)
            .WithName("ListRecentDevices")
            .WithSummary("Recently seen devices with their last telemetry")
            .WithDescription($"Most recently seen first; limit 1-{MaxRecent} (default {DefaultRecent}).")
            .ProducesValidationProblem();

        fleet.MapGet("/firmware", ListFirmwareDownloads)
            .WithName("ListFirmwareDownloads")
            .WithSummary("Firmware downloads in progress")
            .WithDescription($"Devices downloading firmware, by device id, with their progress; offset, limit (1-{MaxFirmwarePageSize}, default 20).")
            .ProducesValidationProblem();

        fleet.MapGet("/gateways", ListGateways)
            .WithName("ListGateways")
            .WithSummary("CoAP gateways and their sessions")
            .WithDescription("Every gateway that reported in the last hour, as of its last report: DTLS sessions (with Connection ID), Observe relations, endpoints; up ones first.");
        return api;
    }

    public static async Task<Ok<FleetSummaryResponse>> GetSummary([AsParameters] ApiServices services)
    {
        var counts = services.Grains.GetGrain<IDeviceRegistryGrain>(0).Summarize();
        var gateways = services.Grains.GetGrain<IGatewayDirectoryGrain>(0).List();
        var c = await counts;
        var g = await gateways;
        int up = 0, down = 0;
        long sessions = 0, relations = 0;
        foreach (var e in g)
        {
            if (e.Up)
            {
                up++;
                sessions += e.Status.DtlsSessions;
                relations += e.Status.ObserveRelations;
            }
            else
            {
                down++;
            }
        }
        return TypedResults.Ok(new FleetSummaryResponse(c.Devices, c.Online, c.Devices - c.Online,
            [.. c.ByTransport.Select(t => new TransportCountResponse(t.Transport, t.Devices, t.Online))],
            c.DevicesWithPendingCommands, c.PendingCommands, c.FirmwareDownloads,
            new GatewayTotalsResponse(up, down, sessions, relations)));
    }

    public static async Task<Results<Ok<FleetDevicePageResponse>, ProblemHttpResult>> ListFleetDevices(
        [FromQuery] string? status, [FromQuery] string? transport, [FromQuery] string? prefix, [FromQuery] string? pending,
        [FromQuery] string? firmware, [FromQuery] string? sort, [FromQuery] string? offset, [FromQuery] string? limit,
        [AsParameters] ApiServices services)
    {
        var errors = new FieldErrors();
        var (from, size) = Paging.Parse(errors, offset, limit, DefaultPageSize, MaxPageSize);
        var online = status switch
        {
            null or "" or "any" => OnlineFilter.Any,
            "online" => OnlineFilter.Online,
            "offline" => OnlineFilter.Offline,
            _ => Invalid(errors, "status", "must be online, offline or any", OnlineFilter.Any),
        };
        DeviceTransport? via = transport switch
        {
            null or "" or "any" => null,
            "coap" => DeviceTransport.Coap,
            "coaps" => DeviceTransport.Coaps,
            "none" => DeviceTransport.None,
            _ => Invalid<DeviceTransport?>(errors, "transport", "must be coap, coaps, none or any", null),
        };
        var order = sort switch
        {
            null or "" or "device_id" => DeviceOrder.DeviceId,
            "last_seen" => DeviceOrder.LastSeenDescending,
            _ => Invalid(errors, "sort", "must be device_id or last_seen", DeviceOrder.DeviceId),
        };
        var pendingOnly = Flag(errors, "pending", pending);
        var firmwareOnly = Flag(errors, "firmware", firmware);
        // A prefix is part of a device id: the same characters, so it cannot smuggle LIKE patterns or control bytes.
        if (!string.IsNullOrEmpty(prefix) && !DeviceIds.IsValid(prefix))
        {
            errors.Add("prefix", "must be the start of a device id: " + Identifiers.DeviceIdRule);
        }
        if (errors.Any)
        {
            return errors.ToProblem();
        }
        var query = new DeviceQuery(null, online, from, size, string.IsNullOrEmpty(prefix) ? null : prefix, via, pendingOnly, firmwareOnly, order);
        var page = await services.Grains.GetGrain<IDeviceRegistryGrain>(0).Query(query);
        return TypedResults.Ok(new FleetDevicePageResponse([.. page.Items.Select(FleetDeviceResponse.From)], page.Total, from, size));
    }

    public static async Task<Results<Ok<RecentDevicesResponse>, ProblemHttpResult>> ListRecentDevices(
        [FromQuery] string? limit, [AsParameters] ApiServices services)
    {
        var errors = new FieldErrors();
        var (_, size) = Paging.Parse(errors, null, limit, DefaultRecent, MaxRecent);
        if (errors.Any)
        {
            return errors.ToProblem();
        }
        var page = await services.Grains.GetGrain<IDeviceRegistryGrain>(0)
            .Query(new DeviceQuery(null, OnlineFilter.Any, 0, size, Order: DeviceOrder.LastSeenDescending));
        var seen = page.Items.Where(d => d.LastSeen is not null).ToList();
        var telemetry = await Task.WhenAll(seen.Select(d => services.Grains.GetGrain<IDeviceGrain>(d.DeviceId).GetRecentTelemetry(1)));
        var items = new List<RecentDeviceResponse>(seen.Count);
        for (var i = 0; i < seen.Count; i++)
        {
            var last = telemetry[i] is [var newest, ..] ? TelemetryPayloadDecoder.Decode(newest) : null;
            items.Add(new RecentDeviceResponse(FleetDeviceResponse.From(seen[i]), last));
        }
        return TypedResults.Ok(new RecentDevicesResponse(items));
    }

    public static async Task<Results<Ok<FirmwareDownloadPageResponse>, ProblemHttpResult>> ListFirmwareDownloads(
        [FromQuery] string? offset, [FromQuery] string? limit, [AsParameters] ApiServices services)
    {
        var errors = new FieldErrors();
        var (from, size) = Paging.Parse(errors, offset, limit, 20, MaxFirmwarePageSize);
        if (errors.Any)
        {
            return errors.ToProblem();
        }
        var page = await services.Grains.GetGrain<IDeviceRegistryGrain>(0)
            .Query(new DeviceQuery(null, OnlineFilter.Any, from, size, FirmwareDownloadingOnly: true));
        var progress = await Task.WhenAll(page.Items.Select(d => services.Grains.GetGrain<IDeviceGrain>(d.DeviceId).GetFirmwareProgress()));
        var items = new List<FirmwareDownloadResponse>(page.Items.Count);
        for (var i = 0; i < page.Items.Count; i++)
        {
            items.Add(new FirmwareDownloadResponse(FleetDeviceResponse.From(page.Items[i]),
                progress[i] is { } p ? FirmwareProgressResponse.From(p) : null));
        }
        return TypedResults.Ok(new FirmwareDownloadPageResponse(items, page.Total, from, size));
    }

    public static async Task<Ok<GatewayListResponse>> ListGateways([AsParameters] ApiServices services)
    {
        var list = await services.Grains.GetGrain<IGatewayDirectoryGrain>(0).List();
        return TypedResults.Ok(new GatewayListResponse([.. list.Select(GatewayResponse.From)]));
    }

    private static bool Flag(FieldErrors errors, string field, string? value) => value switch
    {
        null or "" or "false" => false,
        "true" => true,
        _ => Invalid(errors, field, "must be true or false", false),
    };

    private static T Invalid<T>(FieldErrors errors, string field, string message, T fallback)
    {
        errors.Add(field, message);
        return fallback;
    }
}
