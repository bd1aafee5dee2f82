namespace NHub.Coap.Stack;

/// <summary>What a handler answers. The server adds type, message id, token, Observe and block options.</summary>
public sealed class CoapResponse
{
    public CoapResponse(CoapCode code) => Code = code;

    public CoapCode Code { get; set; }
    public ReadOnlyMemory<byte> Payload { get; set; }
    public int? ContentFormat { get; set; }
    public uint? MaxAge { get; set; }

    /// <summary>Entity tag (RFC 7252 §5.10.6); sent with every block of a block-wise response.</summary>
    public ReadOnlyMemory<byte> ETag { get; set; }

    /// <summary>For an Observe registration: accept it (the state is kept with the relation).</summary>
    public bool Observe { get; set; }

    public object? ObserveState { get; set; }

    /// <summary>
    /// For an Observe registration: called right after the server decided on the relation, with true once it is
    /// registered (notifications for it can be sent from then on) and false when the server refused it (RFC 7641
    /// §4.1: the response then goes out without Observe). Not called for a response the server does not register.
    /// </summary>
    public Action<bool>? OnObserveRegistered { get; set; }

    /// <summary>
    /// Set when the handler must know the response arrived (e.g. it carries commands): a CON request is then answered
    /// with an empty ACK and this response as a separate CON (RFC 7252 §5.2.2), and the callback gets its outcome.
    /// For a NON request the response is sent NON and the callback gets Acknowledged once sent.
    /// </summary>
    public Action<ConfirmableOutcome>? OnDelivery { get; set; }

    public static CoapResponse Text(CoapCode code, string diagnostic) => new(code)
    {
        // RFC 7252 §5.5.2: a diagnostic payload of an error response is UTF-8 text without Content-Format.
        Payload = System.Text.Encoding.UTF8.GetBytes(diagnostic),
    };
}
