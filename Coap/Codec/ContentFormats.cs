namespace NHub.Coap;

/// <summary>
/// Content-Format numbers (RFC 7252 §12.3 and the IANA CoAP Content-Formats registry) and their media types: the
/// platform's one table. The gateway, the telemetry envelope (JetStream Content-Type header) and the REST API all
/// name a format through it.
/// </summary>
public static class ContentFormats
{
    public const int TextPlain = 0;
    public const int LinkFormat = 40;
    public const int Xml = 41;
    public const int OctetStream = 42;
    public const int Exi = 47;
    public const int Json = 50;
    public const int Cbor = 60;

    /// <summary>RFC 8428 §12.3: application/senml+json.</summary>
    public const int SenmlJson = 110;

    /// <summary>RFC 8428 §12.3: application/senml+cbor.</summary>
    public const int SenmlCbor = 112;

    /// <summary>The registered media type (with parameters, as the registry spells it), or null for a number we do not name.</summary>
    public static string? MediaType(int format) => format switch
    {
        TextPlain => "text/plain;charset=utf-8",
        LinkFormat => "application/link-format",
        Xml => "application/xml",
        OctetStream => "application/octet-stream",
        Exi => "application/exi",
        Json => "application/json",
        Cbor => "application/cbor",
        SenmlJson => "application/senml+json",
        SenmlCbor => "application/senml+cbor",
        _ => null,
    };
}
