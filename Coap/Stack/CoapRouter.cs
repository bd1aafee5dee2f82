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

/// <summary>
/// A route lookup's result. <c>Inline</c>: the request can be answered synchronously (a handler mapped with
/// <see cref="CoapRouter{TPeer}.MapInline"/>, or a 4.04/4.05 answered by the server itself).
/// </summary>
public readonly record struct RouteMatch<TPeer>(RouteStatus Status, CoapHandler<TPeer>? Handler, IReadOnlyDictionary<string, string> Values, string Template, bool Inline = false)
    where TPeer : notnull;

/// <summary>
/// Maps method + path template ("/commands/{device_id}") to handlers. An unknown path is 4.04, a known path with
/// another method 4.05 (RFC 7252 §5.9.2.6). Serves /.well-known/core (RFC 6690) from the registered resources.
/// </summary>
public sealed class CoapRouter<TPeer>
    where TPeer : notnull
{
    public const string WellKnownCore = "/.well-known/core";

    private sealed record Route(string Template, string[] Segments, byte[][] Utf8Segments, Dictionary<CoapCode, CoapHandler<TPeer>> Handlers, HashSet<CoapCode> Inline, ResourceDescription? Description);

    private static readonly IReadOnlyDictionary<string, string> NoValues = new Dictionary<string, string>();
    private readonly List<Route> _routes = [];
    private byte[]? _wellKnownCore;

    /// <param name="serveWellKnownCore">Serve RFC 6690 discovery at /.well-known/core.</param>
    public CoapRouter(bool serveWellKnownCore = true)
    {
        if (serveWellKnownCore)
        {
            MapInline(CoapCode.Get, WellKnownCore, ServeWellKnownCore, null);
        }
    }

    /// <summary>Handles every request no route matches (instead of 4.04), e.g. a port that only says "use DTLS".</summary>
    public CoapHandler<TPeer>? Fallback
    {
        get => _fallback;
        set
        {
            _fallback = value;
            _fallbackInline = false;
        }
    }

    /// <summary>
    /// A <see cref="Fallback"/> that completes synchronously: like <see cref="MapInline"/>, its requests may be served
    /// on the transport's receive loop.
    /// </summary>
    public CoapInlineHandler<TPeer>? InlineFallback
    {
        set
        {
            _fallback = value is null ? null : context => ValueTask.FromResult(value(context));
            _fallbackInline = value is not null;
        }
    }

    private CoapHandler<TPeer>? _fallback;
    private bool _fallbackInline;

    public CoapRouter<TPeer> Map(CoapCode method, string template, CoapHandler<TPeer> handler, ResourceDescription? description = null) =>
        Map(method, template, handler, description, inline: false);

    /// <summary>
    /// Maps a handler that answers synchronously (no I/O, no grain call). Its requests may be served on the
    /// transport's receive loop without a thread hop (<see cref="CoapServer{TPeer}.TryProcessInline"/>); the
    /// request's memory is then the transport's receive buffer, so the handler must not keep the context or the
    /// request beyond its return.
    /// </summary>
    public CoapRouter<TPeer> MapInline(CoapCode method, string template, CoapInlineHandler<TPeer> handler, ResourceDescription? description = null) =>
        Map(method, template, context => ValueTask.FromResult(handler(context)), description, inline: true);

    private CoapRouter<TPeer> Map(CoapCode method, string template, CoapHandler<TPeer> handler, ResourceDescription? description, bool inline)
    {
        _wellKnownCore = null;
        var route = _routes.Find(r => string.Equals(r.Template, template, StringComparison.Ordinal));
        if (route is null)
        {
            var segments = template.Split('/', StringSplitOptions.RemoveEmptyEntries);
            route = new Route(template, segments, Array.ConvertAll(segments, Encoding.UTF8.GetBytes), [], [], description);
            _routes.Add(route);
        }
        else if (description is not null && route.Description is null)
        {
            _routes[_routes.IndexOf(route)] = route = route with { Description = description };
        }
        route.Handlers[method] = handler;
        if (inline)
        {
            route.Inline.Add(method);
        }
        else
        {
            route.Inline.Remove(method);
        }
        return this;
    }

    /// <summary>
    /// The route of <paramref name="request"/>'s Uri-Path. Literal segments are compared as UTF-8 bytes, so a route
    /// without parameters matches without allocating; only bound parameter values become strings.
    /// </summary>
    public RouteMatch<TPeer> Match(CoapMessage request)
    {
        // Options are sorted (§3.1): the Uri-Path segments are one contiguous run.
        var options = request.Options;
        var first = -1;
        var count = 0;
        for (var i = 0; i < options.Count; i++)
        {
            var number = options[i].Number;
            if (number == CoapOptionNumber.UriPath)
            {
                first = count++ == 0 ? i : first;
            }
            else if (number > CoapOptionNumber.UriPath)
            {
                break;
            }
        }
        foreach (var route in _routes)
        {
            if (!TryBind(route, options, first, count, out var values))
            {
                continue;
            }
            return route.Handlers.TryGetValue(request.Code, out var handler)
                ? new RouteMatch<TPeer>(RouteStatus.Found, handler, values, route.Template, route.Inline.Contains(request.Code))
                : new RouteMatch<TPeer>(RouteStatus.MethodNotAllowed, null, values, route.Template, Inline: true);
        }
        return _fallback is { } fallback
            ? new RouteMatch<TPeer>(RouteStatus.Found, fallback, NoValues, "*", _fallbackInline)
            : new RouteMatch<TPeer>(RouteStatus.NotFound, null, NoValues, "", Inline: true);
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

    private CoapResponse ServeWellKnownCore(CoapRequestContext<TPeer> context)
    {
        context.Request.TryGetOption(CoapOptionNumber.UriQuery, out var query);
        // The unfiltered document only changes when a route is mapped: build it once per change.
        var payload = query.Value.IsEmpty
            ? _wellKnownCore ??= Encoding.UTF8.GetBytes(LinkFormat())
            : Encoding.UTF8.GetBytes(LinkFormat(query.GetString()));
        return new CoapResponse(CoapCode.Content)
        {
            ContentFormat = ContentFormats.LinkFormat,
            Payload = payload,
        };
    }

    private static bool TryBind(Route route, IReadOnlyList<CoapOption> options, int first, int count, out IReadOnlyDictionary<string, string> values)
    {
        values = NoValues;
        var template = route.Segments;
        if (template.Length != count)
        {
            return false;
        }
        Dictionary<string, string>? bound = null;
        for (var i = 0; i < template.Length; i++)
        {
            var t = template[i];
            var segment = options[first + i].Value.Span;
            if (t.Length > 2 && t[0] == '{' && t[^1] == '}')
            {
                if (segment.IsEmpty)
                {
                    return false;
                }
                (bound ??= new Dictionary<string, string>(StringComparer.Ordinal))[t[1..^1]] = Encoding.UTF8.GetString(segment);
            }
            else if (!segment.SequenceEqual(route.Utf8Segments[i]))
            {
                return false;
            }
        }
        values = bound ?? NoValues;
        return true;
    }
}
