namespace NHub.Coap;

/// <summary>
/// A CoAP code (RFC 7252 §3, §12.1): 3-bit class and 5-bit detail, written c.dd. 0.00 is the empty message,
/// 0.01–0.31 requests, 2.xx–5.xx responses.
/// </summary>
public readonly record struct CoapCode(byte Value)
{
    public int Class => Value >> 5;
    public int Detail => Value & 0x1F;
    public bool IsEmpty => Value == 0;
    public bool IsRequest => Class == 0 && Value != 0;
    public bool IsResponse => Class is >= 2 and <= 5;
    public bool IsSuccess => Class == 2;
    public bool IsClientError => Class == 4;
    public bool IsServerError => Class == 5;

    public static CoapCode Create(int codeClass, int detail) => new((byte)((codeClass << 5) | detail));

    /// <summary>"c.dd"; the 256 possible strings are built once (metrics tag every request with its code).</summary>
    public override string ToString() => Names[Value];

    private static readonly string[] Names = BuildNames();

    private static string[] BuildNames()
    {
        var names = new string[256];
        for (var v = 0; v < names.Length; v++)
        {
            names[v] = $"{v >> 5}.{v & 0x1F:D2}";
        }
        return names;
    }

    // RFC 7252 §12.1.1 methods
    public static readonly CoapCode Empty = new(0);
    public static readonly CoapCode Get = Create(0, 1);
    public static readonly CoapCode Post = Create(0, 2);
    public static readonly CoapCode Put = Create(0, 3);
    public static readonly CoapCode Delete = Create(0, 4);
    public static readonly CoapCode Fetch = Create(0, 5);
    public static readonly CoapCode Patch = Create(0, 6);
    public static readonly CoapCode IPatch = Create(0, 7);

    // RFC 7252 §12.1.2 responses, RFC 7959 §2.9 (2.31, 4.08, 4.13)
    public static readonly CoapCode Created = Create(2, 1);
    public static readonly CoapCode Deleted = Create(2, 2);
    public static readonly CoapCode Valid = Create(2, 3);
    public static readonly CoapCode Changed = Create(2, 4);
    public static readonly CoapCode Content = Create(2, 5);
    public static readonly CoapCode Continue = Create(2, 31);
    public static readonly CoapCode BadRequest = Create(4, 0);
    public static readonly CoapCode Unauthorized = Create(4, 1);
    public static readonly CoapCode BadOption = Create(4, 2);
    public static readonly CoapCode Forbidden = Create(4, 3);
    public static readonly CoapCode NotFound = Create(4, 4);
    public static readonly CoapCode MethodNotAllowed = Create(4, 5);
    public static readonly CoapCode NotAcceptable = Create(4, 6);
    public static readonly CoapCode RequestEntityIncomplete = Create(4, 8);
    public static readonly CoapCode PreconditionFailed = Create(4, 12);
    public static readonly CoapCode RequestEntityTooLarge = Create(4, 13);
    public static readonly CoapCode UnsupportedContentFormat = Create(4, 15);

    /// <summary>RFC 8516 §3: the client sent too many requests; Max-Age says when to try again.</summary>
    public static readonly CoapCode TooManyRequests = Create(4, 29);
    public static readonly CoapCode InternalServerError = Create(5, 0);
    public static readonly CoapCode NotImplemented = Create(5, 1);
    public static readonly CoapCode BadGateway = Create(5, 2);
    public static readonly CoapCode ServiceUnavailable = Create(5, 3);
    public static readonly CoapCode GatewayTimeout = Create(5, 4);
    public static readonly CoapCode ProxyingNotSupported = Create(5, 5);
}
