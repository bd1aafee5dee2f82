using System.Text;

namespace NHub.Coap;

/// <summary>Typed accessors for the RFC 7252 §5.10 options (and RFC 7967 No-Response) on top of the raw option list.</summary>
public sealed partial class CoapMessage
{
    /// <summary>Every value of <paramref name="number"/> in order (repeatable options: Uri-Path, ETag, …). No allocation.</summary>
    public CoapOptionValues GetAll(int number) => new(_options, number);

    /// <summary>Uri-Host (§5.10.1, critical): the host name the request is for, when it differs from the IP literal.</summary>
    public string? UriHost
    {
        get => GetSingleString(CoapOptionNumber.UriHost);
        set => SetOrRemove(CoapOptionNumber.UriHost, value);
    }

    /// <summary>Uri-Port (§5.10.1, critical, uint 0–2 bytes).</summary>
    public ushort? UriPort
    {
        get => (ushort?)GetUInt(CoapOptionNumber.UriPort);
        set => SetOrRemove(CoapOptionNumber.UriPort, (uint?)value);
    }

    /// <summary>Proxy-Uri (§5.10.2, critical): an absolute URI, 1–1034 bytes.</summary>
    public string? ProxyUri
    {
        get => GetSingleString(CoapOptionNumber.ProxyUri);
        set => SetOrRemove(CoapOptionNumber.ProxyUri, value);
    }

    /// <summary>Proxy-Scheme (§5.10.2, critical).</summary>
    public string? ProxyScheme
    {
        get => GetSingleString(CoapOptionNumber.ProxyScheme);
        set => SetOrRemove(CoapOptionNumber.ProxyScheme, value);
    }

    /// <summary>If-None-Match (§5.10.8.2, critical, empty value): "only if the target does not exist".</summary>
    public bool IfNoneMatch
    {
        get => TryGetSingleOption(CoapOptionNumber.IfNoneMatch, out _);
        set
        {
            RemoveOption(CoapOptionNumber.IfNoneMatch);
            if (value)
            {
                AddOption(new CoapOption(CoapOptionNumber.IfNoneMatch, ReadOnlyMemory<byte>.Empty));
            }
        }
    }

    /// <summary>No-Response (RFC 7967 §2, elective, uint 0–1 byte): the classes of response the client does not want.</summary>
    public byte? NoResponse
    {
        get => (byte?)GetUInt(CoapOptionNumber.NoResponse);
        set => SetOrRemove(CoapOptionNumber.NoResponse, (uint?)value);
    }

    /// <summary>
    /// RFC 7967 §2.1: true when the No-Response option suppresses a response with <paramref name="code"/>
    /// (bit 2 → 2.xx, bit 8 → 4.xx, bit 16 → 5.xx). Absent option: nothing is suppressed.
    /// </summary>
    public bool SuppressesResponse(CoapCode code)
    {
        var bits = NoResponse ?? 0;
        return code.Class switch
        {
            2 => (bits & 2) != 0,
            4 => (bits & 8) != 0,
            5 => (bits & 16) != 0,
            _ => false,
        };
    }

    /// <summary>Adds an ETag (§5.10.6: 1–8 bytes; a request may carry several, a response one).</summary>
    public CoapMessage AddETag(ReadOnlyMemory<byte> etag) => AddOption(new CoapOption(CoapOptionNumber.ETag, etag));

    /// <summary>Adds an If-Match (§5.10.8.1: 0–8 bytes; empty means "if the target exists").</summary>
    public CoapMessage AddIfMatch(ReadOnlyMemory<byte> etag) => AddOption(new CoapOption(CoapOptionNumber.IfMatch, etag));

    /// <summary>The first ETag, empty when none (a response carries at most one, §5.10.6.1).</summary>
    public ReadOnlyMemory<byte> ETag => TryGetOption(CoapOptionNumber.ETag, out var o) ? o.Value : default;

    /// <summary>The Location-Path as "/a/b" (§5.10.7), null when absent.</summary>
    public string? GetLocationPath() => JoinSegments(CoapOptionNumber.LocationPath, '/', '/');

    /// <summary>Sets Location-Path options from "/a/b" (a 2.01 Created response's new resource, §5.8.2).</summary>
    public CoapMessage SetLocationPath(string path) => SetSegments(CoapOptionNumber.LocationPath, path);

    public CoapMessage AddLocationQuery(string argument) => AddOption(CoapOption.FromString(CoapOptionNumber.LocationQuery, argument));

    /// <summary>The Uri-Query arguments joined as "a=1&amp;b=2" (§6.5 step 8), null when absent.</summary>
    public string? GetUriQuery() => JoinSegments(CoapOptionNumber.UriQuery, '\0', '&');

    /// <summary>
    /// True when the Uri-Path equals <paramref name="path"/> ("/a/b"; "/" or "" for none) segment by segment,
    /// comparing UTF-8 bytes without allocating (a hot-path alternative to <see cref="GetUriPath"/>).
    /// </summary>
    public bool UriPathEquals(ReadOnlySpan<char> path)
    {
        path = path.TrimStart('/');
        Span<byte> scratch = stackalloc byte[256];
        foreach (var segment in GetAll(CoapOptionNumber.UriPath))
        {
            if (path.IsEmpty)
            {
                return false;
            }
            var slash = path.IndexOf('/');
            var expected = slash < 0 ? path : path[..slash];
            path = slash < 0 ? default : path[(slash + 1)..];
            if (Encoding.UTF8.GetMaxByteCount(expected.Length) > scratch.Length)
            {
                return false;
            }
            var n = Encoding.UTF8.GetBytes(expected, scratch);
            if (!segment.Span.SequenceEqual(scratch[..n]))
            {
                return false;
            }
        }
        return path.IsEmpty;
    }

    private string? GetSingleString(int number) =>
        TryGetSingleOption(number, out var o) ? Encoding.UTF8.GetString(o.Value.Span) : null;

    private CoapMessage SetOrRemove(int number, string? value) =>
        value is null ? RemoveOption(number) : SetOption(CoapOption.FromString(number, value));

    private string? JoinSegments(int number, char prefix, char separator)
    {
        StringBuilder? sb = null;
        foreach (var value in GetAll(number))
        {
            if (sb is null)
            {
                sb = new StringBuilder();
                if (prefix != '\0')
                {
                    sb.Append(prefix);
                }
            }
            else
            {
                sb.Append(separator);
            }
            sb.Append(Encoding.UTF8.GetString(value.Span));
        }
        return sb?.ToString();
    }

    private CoapMessage SetSegments(int number, string path)
    {
        RemoveOption(number);
        foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            AddOption(CoapOption.FromString(number, segment));
        }
        return this;
    }
}
