namespace NHub.ManagementApi.Http;

/// <summary>
/// The responses a kind of route can give, declared once for the OpenAPI document: a route with a body, and a group
/// of routes that name one resource.
/// </summary>
internal static class ApiRouteConventions
{
    /// <summary>
    /// A body of <paramref name="contentType"/>: 400 for an invalid body or route value, 413 over the size limit,
    /// 415 for another media type.
    /// </summary>
    public static RouteHandlerBuilder AcceptsBody<T>(this RouteHandlerBuilder route, string contentType, params string[] additionalContentTypes)
        where T : notnull =>
        route.Accepts<T>(contentType, additionalContentTypes)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    /// <summary>A JSON body read by <see cref="JsonBody{T}"/> (over <c>ManagementApi:MaxJsonBodyBytes</c> is 413).</summary>
    public static RouteHandlerBuilder AcceptsJson<T>(this RouteHandlerBuilder route, params string[] additionalContentTypes)
        where T : notnull =>
        route.AcceptsBody<T>("application/json", additionalContentTypes);

    /// <summary>Routes that name one resource in their path: 400 for a name that cannot be one, 404 for an absent one.</summary>
    public static RouteGroupBuilder ProducesBadIdOrNotFound(this RouteGroupBuilder group) =>
        group.ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
}
