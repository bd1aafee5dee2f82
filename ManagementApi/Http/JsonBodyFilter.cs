namespace NHub.ManagementApi.Http;

/// <summary>
/// A route whose body could not be read (<see cref="IJsonBody.Problem"/>: not JSON, too large, malformed or mistyped)
/// answers that problem before its handler runs: one check for the whole API instead of one per handler. Routes
/// without a <see cref="JsonBody{T}"/> argument pass straight through.
/// </summary>
internal sealed class JsonBodyFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        foreach (var argument in context.Arguments)
        {
            if (argument is IJsonBody { Problem: { } problem })
            {
                return ValueTask.FromResult<object?>(problem);
            }
        }
        return next(context);
    }
}
