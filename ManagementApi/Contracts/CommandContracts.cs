using System.Text.Json;
using System.Text.Json.Nodes;

namespace NHub.ManagementApi.Contracts;

/// <summary>Body of <c>POST /devices/{device_id}/commands</c>.</summary>
/// <param name="Name">What the device should do, e.g. <c>reboot</c>: 1–64 characters of [A-Za-z0-9_.-].</param>
/// <param name="Params">Any JSON object (or absent); delivered to the device as is.</param>
/// <param name="TtlSeconds">How long the command may wait for delivery before it expires (default 86400).</param>
public sealed record SendCommandRequest(string? Name, JsonNode? Params = null, int? TtlSeconds = null);

public sealed record CommandResponse(
    Guid Id,
    string Name,
    JsonNode? Params,
    CommandStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? SentAt,
    DateTimeOffset? DeliveredAt)
{
    internal static CommandResponse From(CommandInfo c) =>
        new(c.Id, c.Name, ParseParams(c.ParamsJson), c.Status, c.CreatedAt, c.ExpiresAt, c.SentAt, c.DeliveredAt);

    private static JsonNode? ParseParams(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            // Stored by something other than this API; show it rather than fail the whole list.
            return JsonValue.Create(json);
        }
    }
}

public sealed record CommandListResponse(IReadOnlyList<CommandResponse> Items);
