using System.Globalization;
using NHub.ManagementApi.Telemetry;

namespace NHub.ManagementApi.Endpoints;

/// <summary>
/// <c>/devices/{device_id}/telemetry</c>: the few most recent messages the twin keeps for the portal. The full stream
/// is in NATS JetStream (docs/telemetry-envelope.md); this is for a quick look, not for consumption.
/// </summary>
public static class TelemetryApi
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    public static RouteGroupBuilder MapTelemetryApi(this RouteGroupBuilder api)
    {
        DeviceItems.MapGroup(api, "telemetry", "Telemetry").MapGet("", GetRecentTelemetry)
            .WithName("GetRecentTelemetry")
            .WithSummary("Get a device's recent telemetry")
            .WithDescription($"Newest first; limit 1-{MaxLimit} (default {DefaultLimit}). JSON payloads (Content-Format 50) are returned as JSON, " +
                "CBOR (60) converted to JSON, anything else as payload_base64.");
        return api;
    }

    public static async Task<Results<Ok<TelemetryListResponse>, ProblemHttpResult>> GetRecentTelemetry(
        [FromRoute(Name = "device_id")] string deviceId, [FromQuery] string? limit, [AsParameters] ApiServices services)
    {
        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxLimit))
        {
            return Problems.Field("limit", $"must be an integer from 1 to {MaxLimit}");
        }
        var entries = await services.Grains.GetGrain<IDeviceGrain>(deviceId).GetRecentTelemetry(count);
        return entries is null
            ? Problems.DeviceNotFound(deviceId)
            : TypedResults.Ok(new TelemetryListResponse(deviceId, [.. entries.Select(TelemetryPayloadDecoder.Decode)]));
    }
}
