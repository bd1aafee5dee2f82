using System.Text;

namespace NHub.Coap.Stack;

/// <summary>How a resource is described in /.well-known/core (RFC 6690 §3: link attributes).</summary>
public sealed record ResourceDescription(string? Title = null, string? ResourceType = null, string? Interface = null, int? ContentFormat = null, bool Observable = false, int? Size = null)
{
    /// <summary>This description as the RFC 6690 link of <paramref name="target"/>.</summary>
    public WebLink ToLink(string target) => new(target)
    {
        Title = Title,
        ResourceType = ResourceType,
        Interface = Interface,
        ContentFormat = ContentFormat,
        Observable = Observable,
        Size = Size,
    };
}

public enum RouteStatus
{
    Found,
    NotFound,
    MethodNotAllowed,
}

public readonly record struct RouteMatch<TPeer>(RouteStatus Status, CoapHandler<TPeer>? Handler, IReadOnlyDictionary<string, string> Values, string Template)
    where TPeer : notnull;

/// <summary>
/// Maps method + path template ("/commands/{device_id}") to handlers. An unknown path is 4.04, a known path with
/// another method 4.05 (RFC 7252 §5.9.2.6). Serves /.well-known/core (RFC 6690) from the registered resources.
/// </summary>
public sealed class CoapRouter<TPeer>
    where TPeer : notnull
{
    public const string WellKnownCore = "/.well-known/core";

    private sealed record Route(string Template, string[] Segments, Dictionary<CoapCode, CoapHandler<TPeer>> Handlers, ResourceDescription? Description);

    private static readonly IReadOnlyDictionary<string, string> NoValues = new Dictionary<string, string>();
    private readonly List<Route> _routes = [];
    private byte[]? _wellKnownCore;

    /// <param name="serveWellKnownCore">Serve RFC 6690 discovery at /.well-known/core.</param>
    public CoapRouter(bool serveWellKnownCore = true)
    {
        if (serveWellKnownCore)
        {
            Map(CoapCode.Get, WellKnownCore, ServeWellKnownCore, null);
        }
    }

    /// <summary>Handles every request no route matches (instead of 4.04), e.g. a port that only says "use DTLS".</summary>
    public CoapHandler<TPeer>? Fallback { get; set; }

    public CoapRouter<TPeer> Map(CoapCode method, string template, CoapHandler<TPeer> handler, ResourceDescription? description = null)
    {
        _wellKnownCore = null;
        var route = _routes.Find(r => string.Equals(r.Template, template, StringComparison.Ordinal));
        if (route is null)
        {
            route = new Route(template, template.Split('/', StringSplitOptions.RemoveEmptyEntries), [], description);
            _routes.Add(route);
        }
        else if (description is not null && route.Description is null)
        {
            _routes[_routes.IndexOf(route)] = route = route with { Description = description };
        }
        route.Handlers[method] = handler;
        return this;
    }

    public RouteMatch<TPeer> Match(CoapMessage request)
    {
        var segments = new List<string>(4);
        foreach (var o in request.Options)
        {
            if (o.Number == CoapOptionNumber.UriPath)
            {
                segments.Add(o.GetString());
            }
            else if (o.Number > CoapOptionNumber.UriPath)
            {
                break;
            }
        }
        foreach (var route in _routes)
        {
            if (!TryBind(route.Segments, segments, out var values))
            {
                continue;
            }
            return route.Handlers.TryGetValue(request.Code, out var handler)
                ? new RouteMatch<TPeer>(RouteStatus.Found, handler, values, route.Template)
                : new RouteMatch<TPeer>(RouteStatus.MethodNotAllowed, null, values, route.Template);
        }
        return Fallback is { } fallback
            ? new RouteMatch<TPeer>(RouteStatus.Found, fallback, NoValues, "*")
            : new RouteMatch<TPeer>(RouteStatus.NotFound, null, NoValues, "");
    }

    /// <summary>RFC 6690 §2 link-format of every described resource, filtered by an optional "attr=value" query (§4.1).</summary>
    public string LinkFormat(string? filter = null)
    {
        var links = new List<WebLink>(_routes.Count);
        foreach (var route in _routes)
        {
            if (route.Description is { } d)
            {
                links.Add(d.ToLink(route.Template));
            }
        }
        return NHub.Coap.LinkFormat.Write(links, filter);
    }

    private ValueTask<CoapResponse> ServeWellKnownCore(CoapRequestContext<TPeer> context)
    {
        var query = context.Request.Options.FirstOrDefault(o => o.Number == CoapOptionNumber.UriQuery);
        // The unfiltered document only changes when a route is mapped: build it once per change.
        var payload = query.Value.IsEmpty
            ? _wellKnownCore ??= Encoding.UTF8.GetBytes(LinkFormat())
            : Encoding.UTF8.GetBytes(LinkFormat(query.GetString()));
        return ValueTask.FromResult(new CoapResponse(CoapCode.Content)
        {
            ContentFormat = ContentFormats.LinkFormat,
            Payload = payload,
        });
    }

    private static bool TryBind(string[] template, List<string> path, out IReadOnlyDictionary<string, string> values)
    {
        values = NoValues;
        if (template.Length != path.Count)
        {
            return false;
        }
        Dictionary<string, string>? bound = null;
        for (var i = 0; i < template.Length; i++)
        {
            var t = template[i];
            if (t.Length > 2 && t[0] == '{' && t[^1] == '}')
            {
                if (path[i].Length == 0)
                {
                    return false;
                }
                (bound ??= new Dictionary<string, string>(StringComparer.Ordinal))[t[1..^1]] = path[i];
            }
            else if (!string.Equals(t, path[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        values = bound ?? NoValues;
        return true;
    }
}
