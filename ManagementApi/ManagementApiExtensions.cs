using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NHub.ManagementApi.Auth;
using NHub.ManagementApi.Endpoints;
using NHub.ManagementApi.Fleet;
using NHub.ManagementApi.OpenApi;
using NHub.ServiceDefaults;
using Scalar.AspNetCore;

namespace NHub.ManagementApi;

public static class ManagementApiExtensions
{
    /// <summary>Every API route lives under this prefix (the path of the CoAP client guide).</summary>
    public const string Prefix = "/api/v4/manage";

    /// <summary>The authorization policy of every API route: a valid bearer API key.</summary>
    public const string PolicyName = "ManagementApiKey";

    /// <summary>Registers the management API's services (auth, problem details, OpenAPI). Used by this host and the Silo.</summary>
    public static IHostApplicationBuilder AddManagementApi(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ManagementApiOptions>()
            .BindConfiguration(ManagementApiOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ManagementApiOptions>>(sp =>
            new ManagementApiOptionsValidator(sp.GetService<PlatformMode>() ?? PlatformMode.From(sp.GetRequiredService<IConfiguration>())));

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(ApiKeyStore.Create);
        services.AddStartupHttpEndpoint(10, "management API", Prefix);
        services.AddStartupHttpEndpoint(11, "API reference", "/scalar");
        services.AddStartupHttpEndpoint(12, "fleet page", FleetPage.Path);
        services.AddStartupSummaryLine(50, sp => sp.GetRequiredService<ApiKeyStore>() is { GeneratedKey: { } key }
            ? $"Management API key (generated, embedded mode): {key} — send it as 'Authorization: Bearer <key>'; set ManagementApi:ApiKeys to choose your own"
            : "Management API keys: from ManagementApi:ApiKeys");
        // No default scheme: the handler only ever runs for the API's policy, never for the dashboard or /health.
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(PolicyName, policy => policy.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser());

        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict; // "ttl_seconds": "60" is a type error, not a number
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        });
        services.AddProblemDetails();
        services.Configure<ProblemDetailsOptions>(o =>
        {
            var previous = o.CustomizeProblemDetails;
            o.CustomizeProblemDetails = context =>
            {
                previous?.Invoke(context);
                if (context.HttpContext.Request.Path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase))
                {
                    // snake_case like the rest of the API, and the trace id of the request's activity when there is one.
                    context.ProblemDetails.Extensions.Remove("traceId");
                    context.ProblemDetails.Extensions["trace_id"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
                    context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
                }
            };
        });
        services.AddSingleton<IStartupFilter, ManagementApiStartupFilter>();

        services.AddOpenApi(o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith(Prefix[1..], StringComparison.OrdinalIgnoreCase) == true;
            o.AddDocumentTransformer<BearerSecuritySchemeTransformer>();
        });
        return builder;
    }

    /// <summary>Maps <c>/api/v4/manage/...</c>, <c>/openapi/v1.json</c>, the API reference page (<c>/scalar</c>) and the fleet page (<c>/fleet</c>).</summary>
    public static IEndpointRouteBuilder MapManagementApi(this IEndpointRouteBuilder app)
    {
        // The description and the reference page are public: they hold no data, and the page must load before a key is typed in.
        app.MapOpenApi();
        app.MapScalarApiReference(o => o.WithTitle("NHub Management API"));
        app.MapFleetPage();

        var api = app.MapGroup(Prefix)
            .RequireAuthorization(PolicyName)
            .AddEndpointFilter<ClusterUnavailableFilter>()
            .AddEndpointFilter<DeviceIdFilter>()
            .AddEndpointFilter<JsonBodyFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapDevicesApi();
        api.MapCredentialsApi();
        api.MapCertificateAuthoritiesApi();
        api.MapCommandsApi();
        api.MapFirmwareApi();
        api.MapTelemetryApi();
        api.MapFleetApi();
        return app;
    }
}
