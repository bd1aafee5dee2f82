namespace NHub.Coap;

/// <summary>Option numbers (RFC 7252 §5.10 / §12.2, RFC 7641 §2, RFC 7959 §2.1, RFC 7967) and their properties.</summary>
public static class CoapOptionNumber
{
    public const int IfMatch = 1;
    public const int UriHost = 3;
    public const int ETag = 4;
    public const int IfNoneMatch = 5;
    public const int Observe = 6;
    public const int UriPort = 7;
    public const int LocationPath = 8;
    public const int UriPath = 11;
    public const int ContentFormat = 12;
    public const int MaxAge = 14;
    public const int UriQuery = 15;
    public const int Accept = 17;
    public const int LocationQuery = 20;
    public const int Block2 = 23;
    public const int Block1 = 27;
    public const int Size2 = 28;
    public const int ProxyUri = 35;
    public const int ProxyScheme = 39;
    public const int Size1 = 60;
    public const int NoResponse = 258;

    /// <summary>§5.4.1: odd option numbers are critical.</summary>
    public static bool IsCritical(int number) => (number & 1) != 0;

    /// <summary>§5.4.2: bit 1 set means unsafe to forward.</summary>
    public static bool IsUnsafe(int number) => (number & 2) != 0;

    /// <summary>Options this implementation understands (others: critical → 4.02, elective → ignored).</summary>
    public static bool IsKnown(int number) => number is IfMatch or UriHost or ETag or IfNoneMatch or Observe or UriPort
        or LocationPath or UriPath or ContentFormat or MaxAge or UriQuery or Accept or LocationQuery or Block2 or Block1
        or Size2 or ProxyUri or ProxyScheme or Size1 or NoResponse;

    /// <summary>§5.10 table "R" column: may occur more than once.</summary>
    public static bool IsRepeatable(int number) => number is IfMatch or ETag or LocationPath or UriPath or UriQuery or LocationQuery;

    /// <summary>§5.10 value length bounds (min, max) for known options; repeatable length checks apply per occurrence.</summary>
    public static (int Min, int Max) LengthBounds(int number) => number switch
    {
        IfMatch => (0, 8),
        UriHost => (1, 255),
        ETag => (1, 8),
        IfNoneMatch => (0, 0),
        Observe => (0, 3),
        UriPort => (0, 2),
        LocationPath => (0, 255),
        UriPath => (0, 255),
        ContentFormat => (0, 2),
        MaxAge => (0, 4),
        UriQuery => (0, 255),
        Accept => (0, 2),
        LocationQuery => (0, 255),
        Block2 or Block1 => (0, 3),
        Size2 or Size1 => (0, 4),
        ProxyUri => (1, 1034),
        ProxyScheme => (1, 255),
        NoResponse => (0, 1),
        _ => (0, 65535 + 269),
    };
}
