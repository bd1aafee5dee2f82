using System.Collections.Frozen;
using Microsoft.Net.Http.Headers;

namespace NHub.ManagementApi.Fleet;

/// <summary>
/// The operators' fleet page: three static files embedded in this assembly (no build step, nothing fetched from
/// elsewhere), served at <c>/fleet</c>. The page itself holds no data and is public, like the API reference; it asks
/// for the API key and reads <c>/api/v4/manage/fleet/...</c> with it.
/// </summary>
public static class FleetPage
{
    public const string Path = "/fleet";

    /// <summary>Only this origin's own files and API; no inline script; never framed (clickjacking).</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly FrozenDictionary<string, (string ContentType, byte[] Content)> Files = new Dictionary<string, (string, byte[])>
    {
        [Path] = ("text/html; charset=utf-8", Load("fleet.html")),
        [Path + "/fleet.js"] = ("text/javascript; charset=utf-8", Load("fleet.js")),
        [Path + "/fleet.css"] = ("text/css; charset=utf-8", Load("fleet.css")),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static IEndpointRouteBuilder MapFleetPage(this IEndpointRouteBuilder app)
    {
        foreach (var (path, (contentType, content)) in Files)
        {
            app.MapGet(path, (HttpContext context) =>
            {
                var headers = context.Response.Headers;
                headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
                headers[HeaderNames.XContentTypeOptions] = "nosniff";
                headers[HeaderNames.CacheControl] = "no-cache";
                headers["Referrer-Policy"] = "no-referrer";
                return TypedResults.Bytes(content, contentType);
            }).ExcludeFromDescription();
        }
        return app;
    }

    private static byte[] Load(string name)
    {
        using var stream = typeof(FleetPage).Assembly.GetManifestResourceStream("fleet/" + name)
            ?? throw new InvalidOperationException($"The fleet page's {name} is not embedded in {typeof(FleetPage).Assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
