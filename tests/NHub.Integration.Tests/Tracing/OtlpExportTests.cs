using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NHub.ServiceDefaults;
using NHub.Testing;
using OpenTelemetry.Trace;

namespace NHub.Integration.Tests.Tracing;

/// <summary>
/// OTLP export follows the standard variable: with <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> a host's spans (the platform
/// source and ASP.NET Core requests) reach a collector (here a loopback HTTP listener taking OTLP/HTTP protobuf);
/// without it no tracer provider exists, so nothing is recorded or exported.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task With_the_endpoint_set_spans_are_exported_over_OTLP()
    {
        var collectorPort = FreePorts.Next();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{collectorPort}/");
        collector.Start();
        var received = CollectAsync(collector);

        var httpPort = FreePorts.Next();
        await using var app = BuildHost(httpPort, new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{collectorPort}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });
        await app.StartAsync();
        using var http = new HttpClient();
        Assert.Equal("ok", await http.GetStringAsync($"http://127.0.0.1:{httpPort}/probe"));
        // The batch processor exports on a timer; flushing is what a host does when it stops. The handler's span ends
        // before ASP.NET Core's request span (which ends after the response is written), so the two may arrive in
        // separate exports: collect exports until both are in, within a bound.
        var provider = app.Services.GetRequiredService<TracerProvider>();
        Assert.True(provider.ForceFlush(10_000));
        var exported = new StringBuilder();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var (path, body) = await received.WaitAsync(TimeSpan.FromTicks(Math.Max(1, (deadline - DateTime.UtcNow).Ticks)));
            Assert.Equal("/v1/traces", path);
            exported.Append(body);
            var all = exported.ToString();
            if (all.Contains("otlp.probe", StringComparison.Ordinal) // the platform source's span
                && all.Replace("otlp.probe", "", StringComparison.Ordinal).Contains("/probe", StringComparison.Ordinal)) // ASP.NET Core's
            {
                break;
            }
            received = CollectAsync(collector);
            provider.ForceFlush(10_000);
        }
        await app.StopAsync();
    }

    [Fact]
    public async Task Without_the_endpoint_nothing_is_traced()
    {
        await using var app = BuildHost(FreePorts.Next(), new Dictionary<string, string?>());
        Assert.Null(app.Services.GetService<TracerProvider>());
        await app.StartAsync();
        Assert.False(PlatformTracing.Source.HasListeners() && PlatformTracing.Source.StartActivity("otlp.probe") is not null);
        await app.StopAsync();
    }

    private static WebApplication BuildHost(int httpPort, Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls($"http://127.0.0.1:{httpPort}");
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.MapGet("/probe", () =>
        {
            using var span = PlatformTracing.Source.StartActivity("otlp.probe");
            return Results.Text("ok");
        });
        return app;
    }

    private static async Task<(string Path, string Body)> CollectAsync(HttpListener collector)
    {
        var context = await collector.GetContextAsync();
        using var reader = new StreamReader(context.Request.InputStream, Encoding.Latin1);
        var body = await reader.ReadToEndAsync();
        context.Response.StatusCode = 200;
        context.Response.Close();
        return (context.Request.Url!.AbsolutePath, body);
    }
}
