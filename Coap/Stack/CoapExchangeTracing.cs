using System.Diagnostics;

namespace NHub.Coap.Stack;

/// <summary>
/// Where <see cref="CoapServer{TPeer}"/> starts one Activity (kind Server) per request it processes, ended when the
/// response (or the empty ACK of a suppressed one) is sent. The host owns the source and names the transport; the
/// stack stays transport-free. Without a listener <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
/// returns null and no tag is built.
/// </summary>
public sealed class CoapExchangeTracing(ActivitySource source, string transport)
{
    public const string ActivityName = "coap.exchange";
    public const string MethodTag = "coap.method";
    public const string RouteTag = "coap.route";
    public const string ResponseCodeTag = "coap.response_code";
    public const string TransportTag = "nhub.transport";

    public ActivitySource Source { get; } = source;

    public string Transport { get; } = transport;
}
