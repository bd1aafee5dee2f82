using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace NHub.ManagementApi.OpenApi;

/// <summary>Declares the API-key bearer scheme in the document, so Scalar (and generated clients) send the key.</summary>
internal sealed class BearerSecuritySchemeTransformer : IOpenApiDocumentTransformer
{
    private const string SchemeId = "api_key";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "NHub Management API";
        document.Info.Description =
            "Device twins, PSK credentials, downlink commands, firmware images and recent telemetry of the NHub CoAP platform. " +
            "Every route needs 'Authorization: Bearer <key>' (ManagementApi:ApiKeys). JSON is snake_case; errors are RFC 9457 problem+json; " +
            "a trailing slash is optional on every route.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SchemeId] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "One of the keys configured in ManagementApi:ApiKeys (embedded mode logs a generated one at start).",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeId, document)] = [] });
        return Task.CompletedTask;
    }
}
