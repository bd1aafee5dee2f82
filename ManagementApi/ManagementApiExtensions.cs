namespace NHub.ManagementApi;

public static class ManagementApiExtensions
{
    /// <summary>Registers the management API's services (auth, problem details, OpenAPI). Used by this host and the Silo.</summary>
    public static IHostApplicationBuilder AddManagementApi(this IHostApplicationBuilder builder)
    {
        return builder;
    }

    /// <summary>Maps <c>/api/v4/manage/...</c>, <c>/openapi/v1.json</c> and the API reference page.</summary>
    public static IEndpointRouteBuilder MapManagementApi(this IEndpointRouteBuilder app)
    {
        return app;
    }
}
