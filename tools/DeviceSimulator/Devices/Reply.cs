using NHub.Coap;

namespace NHub.DeviceSimulator.Devices;

internal enum ReplyStatus
{
    /// <summary>A response with the request's token arrived (piggybacked or separate, RFC 7252 §5.2).</summary>
    Response,

    /// <summary>Nothing came back within --timeout (the simulator does not retransmit: a load test reports loss).</summary>
    Timeout,

    /// <summary>The server answered the request with RST (§4.2).</summary>
    Reset,

    /// <summary>The request could not be sent, or the session ended while waiting.</summary>
    Failed,
}

/// <summary>The outcome of one request. <see cref="Message"/> is an owned copy, present only when asked for.</summary>
internal readonly record struct Reply(ReplyStatus Status, CoapCode Code, CoapMessage? Message = null, string? Failure = null);

/// <summary>Counters shared by every device of a run (what the transport saw, beside request outcomes).</summary>
internal sealed class LinkCounters
{
    public long Notifications;
    public long AcksSent;
    public long Malformed;
    public long SessionsFailed;
    public long StrayResponses;
}
