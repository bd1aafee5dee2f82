namespace NHub.ManagementApi.Http;

/// <summary>
/// Makes the trailing slash optional on every API route: <c>/devices/</c> (the client guide's spelling) and
/// <c>/devices</c> reach the same endpoint. Routes are declared without it; this strips it before routing runs.
/// </summary>
internal sealed class TrailingSlashMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.HasValue && path.Value.Length > 1 && path.Value[^1] == '/'
            && path.StartsWithSegments(ManagementApiExtensions.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            context.Request.Path = new PathString(path.Value.TrimEnd('/'));
        }
        return next(context);
    }
}
