namespace NHub.ManagementApi.Http;

/// <summary>
/// Guarantees that every error under <c>/api/v4/manage</c> has an RFC 9457 body: an exception that escapes the
/// endpoint becomes a problem (<see cref="BadHttpRequestException"/> keeps its status, anything else is 500 without
/// internals), and an error status written with an empty body (no route: 404, wrong method: 405, a content type the
/// endpoint does not accept: 415) gets one. Other paths (dashboard, health) are left alone.
/// </summary>
internal sealed class ApiProblemMiddleware(RequestDelegate next, IProblemDetailsService problems, ILogger<ApiProblemMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments(ManagementApiExtensions.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            await WriteAsync(context, ex.StatusCode, ex.Message);
            return;
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            ManagementApiLog.Unhandled(logger, ex, context.Request.Method, context.Request.Path.Value);
            await WriteAsync(context, StatusCodes.Status500InternalServerError, "The request failed; the server log has the details.");
            return;
        }

        var response = context.Response;
        if (!response.HasStarted && response.StatusCode is >= 400 and < 600 && response.ContentLength is null && string.IsNullOrEmpty(response.ContentType))
        {
            await WriteAsync(context, response.StatusCode, DetailFor(response.StatusCode));
        }
    }

    private async Task WriteAsync(HttpContext context, int status, string detail)
    {
        context.Response.Clear();
        context.Response.StatusCode = status;
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = Problems.Create(status, detail) });
    }

    private static string DetailFor(int status) => status switch
    {
        StatusCodes.Status404NotFound => "No such resource.",
        StatusCodes.Status405MethodNotAllowed => "This resource does not support that method.",
        StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
        StatusCodes.Status415UnsupportedMediaType => "This endpoint does not accept that Content-Type.",
        _ => "The request failed.",
    };
}
