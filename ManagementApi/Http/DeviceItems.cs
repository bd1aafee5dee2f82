using Microsoft.AspNetCore.Http.HttpResults;

namespace NHub.ManagementApi.Http;

/// <summary>
/// A device's sub-collections (commands, credentials): their route group, and their two shapes, the list and one item
/// by id. A device that does not exist is 404 <c>device not found</c>; an id the device does not have is 404 naming both.
/// </summary>
internal static class DeviceItems
{
    /// <summary>
    /// <c>/devices/{device_id}/{collection}</c>, tagged <paramref name="tag"/>. Every route in it names a device, so
    /// each declares 400 for an impossible id (<see cref="DeviceIdFilter"/>) and 404 for an unknown one.
    /// </summary>
    public static RouteGroupBuilder MapGroup(RouteGroupBuilder api, string collection, string tag) =>
        api.MapGroup("/devices/{device_id}/" + collection).WithTags(tag)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

    public static Results<Ok<TList>, ProblemHttpResult> List<TItem, TList>(string deviceId, IReadOnlyList<TItem>? items, Func<IEnumerable<TItem>, TList> toList) =>
        items is null ? Problems.DeviceNotFound(deviceId) : TypedResults.Ok(toList(items));

    public static Results<Ok<TResponse>, ProblemHttpResult> One<TItem, TResponse>(string deviceId, IReadOnlyList<TItem>? items, Guid id,
        Func<TItem, Guid> idOf, Func<TItem, TResponse> toResponse, string kind)
    {
        if (items is null)
        {
            return Problems.DeviceNotFound(deviceId);
        }
        foreach (var item in items)
        {
            if (idOf(item) == id)
            {
                return TypedResults.Ok(toResponse(item));
            }
        }
        return Problems.NotFound($"Device '{deviceId}' has no {kind} '{id}'.");
    }
}
