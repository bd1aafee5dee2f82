using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace NHub.ServiceDefaults;

/// <summary>What every NHub host shares: metrics, health checks, problem details (eShop's ServiceDefaults).</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Health checks tagged with this are part of readiness (/health/ready and /health).</summary>
    public const string ReadyTag = "ready";

    /// <summary>The meter every NHub component records on.</summary>
    public const string MeterName = "NHub";

    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        var mode = PlatformMode.From(builder.Configuration);
        builder.AddLoggingDefaults();
        builder.Services.AddHostedService<StartupSummaryReporter>();
        builder.Services.AddStartupHttpEndpoint(90, "health", "/health/ready");
        builder.Services.AddStartupHttpEndpoint(91, "metrics", "/metrics");
        builder.Services.AddProblemDetails();

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(MeterName, "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentationIfAvailable()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]))
        {
            // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _PROTOCOL, _HEADERS) itself. Without it no tracer
            // provider is registered: the platform's spans are never started (StartActivity returns null).
            builder.AddPlatformTracing(tracing => tracing.AddOtlpExporter());
            builder.Services.AddStartupSummaryLine(95, _ => $"Tracing: OTLP export to {builder.Configuration[OtlpEndpointVariable]}");
        }

        var health = builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: ["live"]);
        if (mode.UsesPostgres)
        {
            health.Add(new HealthCheckRegistration("postgres", _ => new PostgresHealthCheck(mode.PostgresConnectionString!), HealthStatus.Unhealthy, [ReadyTag], TimeSpan.FromSeconds(5)));
        }
        if (mode.UsesNats)
        {
            health.Add(new HealthCheckRegistration("nats", _ => new NatsHealthCheck(mode.NatsUrl!), HealthStatus.Unhealthy, [ReadyTag], TimeSpan.FromSeconds(5)));
        }
        return builder;
    }

    /// <summary>The standard OpenTelemetry variable that turns on trace export (OTLP).</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Records the platform's spans: CoAP exchanges and JetStream publishes (<see cref="PlatformTracing"/>), Orleans'
    /// application grain calls, management API requests (ASP.NET Core); <paramref name="exporters"/> adds where they go.
    /// </summary>
    public static IHostApplicationBuilder AddPlatformTracing(this IHostApplicationBuilder builder, Action<TracerProviderBuilder> exporters)
    {
        builder.Services.AddOpenTelemetry().WithTracing(tracing =>
        {
            tracing
                .AddSource(PlatformTracing.SourceName, PlatformTracing.OrleansSource)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health") && !ctx.Request.Path.StartsWithSegments("/metrics"));
            exporters(tracing);
        });
        return builder;
    }

    private static MeterProviderBuilder AddRuntimeInstrumentationIfAvailable(this MeterProviderBuilder metrics)
        // .NET 9+ publishes runtime metrics on the built-in "System.Runtime" meter; no extra package needed.
        => metrics.AddMeter("System.Runtime");

    /// <summary>
    /// /health and /health/ready (readiness: 503 while PostgreSQL, NATS or — for a client host — the cluster does not
    /// answer), /health/live (liveness: the process serves HTTP; never fails for a dependency, so an orchestrator does
    /// not restart a healthy process because the database is down), /metrics (Prometheus).
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions { Predicate = _ => true, ResponseWriter = HealthResponseWriter.WriteAsync });
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = r => r.Tags.Contains("live"), ResponseWriter = HealthResponseWriter.WriteAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = _ => true, ResponseWriter = HealthResponseWriter.WriteAsync });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}

internal static class HealthResponseWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        };
        return context.Response.WriteAsJsonAsync(body);
    }
}
