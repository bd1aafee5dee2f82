namespace NHub.ManagementApi.Http;

/// <summary>
/// Every route with a <c>{device_id}</c> segment answers 400 problem+json with <c>errors.device_id</c> for an id that
/// cannot be one (<see cref="DeviceIds"/>), before its handler runs and before any grain is asked: one check for
/// the whole API instead of one per handler.
/// </summary>
internal sealed class DeviceIdFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.Request.RouteValues.TryGetValue("device_id", out var value) && Identifiers.CheckDeviceId(value as string ?? "") is { } bad
            ? ValueTask.FromResult<object?>(bad)
            : next(context);
}
