namespace NHub.ManagementApi.Http;

/// <summary>
/// Puts the API's two middlewares at the very front of the host's pipeline (before routing, so the trailing-slash
/// rewrite can still change which endpoint matches), without the host's <c>Program.cs</c> having to know.
/// </summary>
internal sealed class ManagementApiStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<ApiProblemMiddleware>();
        app.UseMiddleware<TrailingSlashMiddleware>();
        next(app);
    };
}
