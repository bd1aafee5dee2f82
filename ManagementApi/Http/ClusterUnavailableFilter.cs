namespace NHub.ManagementApi.Http;

/// <summary>
/// A grain call that cannot reach the cluster (no silo, timeout) or whose grain's storage failed (PostgreSQL down or
/// out of connections: a <see cref="System.Data.Common.DbException"/>, or Orleans' stand-in for a driver exception
/// this host cannot load) is answered 503 with Retry-After, not 500: the request was fine and may be retried. Runs
/// inside the endpoint, so it works the same in every environment.
/// </summary>
internal sealed class ClusterUnavailableFilter(ILogger<ClusterUnavailableFilter> logger) : IEndpointFilter
{
    private const int RetryAfterSeconds = 5;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException or System.Data.Common.DbException
            or Orleans.Serialization.UnavailableExceptionFallbackException)
        {
            var http = context.HttpContext;
            ManagementApiLog.ClusterUnavailable(logger, ex, http.Request.Method, http.Request.Path.Value);
            http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Unavailable("The device cluster did not answer; retry shortly.");
        }
    }
}
