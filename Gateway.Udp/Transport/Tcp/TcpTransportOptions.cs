using System.ComponentModel.DataAnnotations;

namespace NHub.Gateway.Transport.Tcp;

/// <summary>
/// CoAP over TCP and TLS (RFC 8323) settings, section <c>Gateway:Tcp</c>. The plain port follows
/// <c>Gateway:PlainMode</c> like plain UDP (served, answered 4.01 "TLS required", or not opened); the TLS port
/// authenticates devices exactly as DTLS does (PSK, certificates, raw public keys; <c>Gateway:Dtls:*</c> credentials
/// and certificate settings apply).
/// </summary>
public sealed class TcpTransportOptions : IValidatableObject
{
    public const string Section = "Gateway:Tcp";

    /// <summary>Open the TCP ports at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Bind address; <c>::</c> is one dual-mode socket for IPv4 and IPv6.</summary>
    [Required(ErrorMessage = "Gateway:Tcp:BindAddress must be set")]
    public string BindAddress { get; set; } = "::";

    /// <summary>RFC 8323 §8.1: coap+tcp's default port is 5683. Unset: the plain UDP port's number (<c>Gateway:Udp:Port</c>).</summary>
    [Range(0, 65535, ErrorMessage = "Gateway:Tcp:Port must be between 0 and 65535")]
    public int? Port { get; set; }

    /// <summary>RFC 8323 §8.2: coaps+tcp's default port is 5684. Unset: the DTLS port's number (<c>Gateway:Dtls:Port</c>).</summary>
    [Range(0, 65535, ErrorMessage = "Gateway:Tcp:TlsPort must be between 0 and 65535")]
    public int? TlsPort { get; set; }

    /// <summary>Serve coaps+tcp (TLS 1.2). Unset: as coaps:// (<c>Gateway:DtlsEnabled</c>).</summary>
    public bool? TlsEnabled { get; set; }

    /// <summary>
    /// Serve CoAP over WebSockets (RFC 8323 §4) at <c>/.well-known/coap</c> on the HTTP host (its URLs decide
    /// <c>coap+ws</c> or <c>coaps+ws</c>). Messages are limited by <see cref="MaxMessageSize"/> and queued like TCP's.
    /// </summary>
    public bool WebSocketsEnabled { get; set; } = true;

    /// <summary>Open connections, both ports together; a connection beyond it is closed at once (counted, reason "capacity").</summary>
    [Range(1, 10_000_000, ErrorMessage = "Gateway:Tcp:MaxConnections must be between 1 and 10000000")]
    public int MaxConnections { get; set; } = 100_000;

    /// <summary>
    /// The largest message received, announced in the gateway's CSM (RFC 8323 §5.3.1). A larger one aborts the
    /// connection. The default carries a 1024-byte block with any options a device sends.
    /// </summary>
    [Range(1152, 1024 * 1024, ErrorMessage = "Gateway:Tcp:MaxMessageSize must be between 1152 and 1048576")]
    public int MaxMessageSize { get; set; } = 8192;

    /// <summary>A connection with no message (a request, a Ping, an empty keep-alive) for this long is released (RFC 8323 §5.5).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "30.00:00:00", ErrorMessage = "Gateway:Tcp:IdleTimeout must be between 5 s and 30 days")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A TLS handshake (or the first CSM on plain TCP) not done within this is aborted.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Gateway:Tcp:HandshakeTimeout must be between 1 s and 10 min")]
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Frames waiting to be written to one connection (a peer not reading fills it). Beyond it a send is refused:
    /// a response is lost to a peer that stopped reading, a confirmable notification is retried by the message layer.
    /// </summary>
    [Range(8, 100_000, ErrorMessage = "Gateway:Tcp:SendQueueFrames must be between 8 and 100000")]
    public int SendQueueFrames { get; set; } = 256;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!System.Net.IPAddress.TryParse(BindAddress, out _))
        {
            yield return new ValidationResult($"Gateway:Tcp:BindAddress '{BindAddress}' is not an IP address", [nameof(BindAddress)]);
        }
    }
}
