using System.Globalization;
using System.Text;

namespace NHub.Coap;

/// <summary>
/// One link of a CoRE link-format document (RFC 6690 §2) with the target attributes a CoAP server publishes:
/// rt and if (§3.1, §3.2), sz (§3.3), ct (RFC 7252 §7.2.1), obs (RFC 7641 §6) and title (RFC 8288).
/// </summary>
public sealed record WebLink(string Target)
{
    /// <summary>Resource type(s), space-separated ("rt").</summary>
    public string? ResourceType { get; init; }

    /// <summary>Interface description(s), space-separated ("if").</summary>
    public string? Interface { get; init; }

    /// <summary>Content-Format the resource returns ("ct").</summary>
    public int? ContentFormat { get; init; }

    /// <summary>Estimated maximum size of the representation in bytes ("sz").</summary>
    public int? Size { get; init; }

    /// <summary>The resource can be observed ("obs").</summary>
    public bool Observable { get; init; }

    public string? Title { get; init; }
}

/// <summary>
/// Writes and filters application/link-format (RFC 6690), Content-Format 40, the body of GET /.well-known/core:
/// <code>
/// Link       = link-value-list
/// link-value = "&lt;" URI-Reference "&gt;" *( ";" link-param )      ; links separated by ","
/// link-param = "rt=" quoted-string / "if=" quoted-string / "sz=" cardinal / "ct=" cardinal / "obs" / "title=" quoted-string
/// </code>
/// Quoted strings escape '"' and '\' with a backslash (RFC 2616 §2.2, referenced by RFC 6690 §2).
/// </summary>
public static class LinkFormat
{
    public static string Write(IEnumerable<WebLink> links, string? query = null)
    {
        var sb = new StringBuilder();
        Write(sb, links, query);
        return sb.ToString();
    }

    /// <summary>Appends the links that match <paramref name="query"/> (see <see cref="Matches"/>), comma-separated.</summary>
    public static void Write(StringBuilder destination, IEnumerable<WebLink> links, string? query = null)
    {
        var first = true;
        foreach (var link in links)
        {
            if (!Matches(link, query))
            {
                continue;
            }
            if (!first)
            {
                destination.Append(',');
            }
            first = false;
            AppendLink(destination, link);
        }
    }

    public static void AppendLink(StringBuilder sb, WebLink link)
    {
        sb.Append('<').Append(link.Target).Append('>');
        AppendQuoted(sb, "rt", link.ResourceType);
        AppendQuoted(sb, "if", link.Interface);
        if (link.ContentFormat is { } ct)
        {
            sb.Append(";ct=").Append(ct.ToString(CultureInfo.InvariantCulture));
        }
        if (link.Size is { } sz)
        {
            sb.Append(";sz=").Append(sz.ToString(CultureInfo.InvariantCulture));
        }
        if (link.Observable)
        {
            sb.Append(";obs");
        }
        AppendQuoted(sb, "title", link.Title);
    }

    /// <summary>
    /// RFC 6690 §4.1 query filtering: a single "name=value" argument selects the links whose attribute equals the
    /// value, or starts with it when the value ends in '*'. For rt and if, which hold space-separated lists, any
    /// member may match. "href" filters on the target. A link without the attribute does not match; a null or
    /// empty query, or one without '=', matches everything.
    /// </summary>
    public static bool Matches(WebLink link, string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return true;
        }
        var eq = query.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            return query == "obs" ? link.Observable : true;
        }
        var name = query.AsSpan(0, eq);
        var value = query.AsSpan(eq + 1);
        var (actual, isList) = name switch
        {
            "href" => (link.Target, false),
            "rt" => (link.ResourceType, true),
            "if" => (link.Interface, true),
            "ct" => (link.ContentFormat?.ToString(CultureInfo.InvariantCulture), false),
            "sz" => (link.Size?.ToString(CultureInfo.InvariantCulture), false),
            "title" => (link.Title, false),
            _ => (null, false),
        };
        if (actual is null)
        {
            return false;
        }
        if (!isList)
        {
            return MatchesValue(actual, value);
        }
        foreach (var range in actual.AsSpan().Split(' '))
        {
            if (MatchesValue(actual.AsSpan()[range], value))
            {
                return true;
            }
        }
        return false;
    }

    private static bool MatchesValue(ReadOnlySpan<char> actual, ReadOnlySpan<char> wanted) =>
        wanted.EndsWith('*') ? actual.StartsWith(wanted[..^1], StringComparison.Ordinal) : actual.SequenceEqual(wanted);

    private static void AppendQuoted(StringBuilder sb, string name, string? value)
    {
        if (value is null)
        {
            return;
        }
        sb.Append(';').Append(name).Append("=\"");
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }
            sb.Append(c);
        }
        sb.Append('"');
    }
}
