namespace NHub.Grains;

/// <summary>
/// A device's Observe relation on its commands resource (RFC 7641), as its twin keeps it: enough for whichever gateway
/// holds the device's DTLS session to go on notifying it (<see cref="IDeviceGrain.ResumeObservingCommands"/>).
/// </summary>
/// <param name="GatewayId">The gateway holding the relation; commands are pushed to it through its <see cref="IGatewayGrain"/>.</param>
/// <param name="PeerAddress">Where the registration came from (for connectivity; the session, not the address, finds the device).</param>
/// <param name="Transport">The transport the registration came over.</param>
/// <param name="SessionKey">The session that registered (<c>PeerInfo.SessionKey</c>); only that session resumes the relation.</param>
/// <param name="Token">The registration's token (0 to 8 bytes, RFC 7252 §5.3.1): every notification carries it (RFC 7641 §3.2).</param>
/// <param name="ContentFormat">The format every notification uses (the registration's Accept).</param>
[GenerateSerializer, Immutable, Alias("nhub.CommandObservation")]
public sealed record CommandObservation(
    [property: Id(0)] Guid GatewayId,
    [property: Id(1)] string PeerAddress,
    [property: Id(2)] DeviceTransport Transport,
    [property: Id(3)] string? SessionKey,
    [property: Id(4)] byte[] Token,
    [property: Id(5)] int ContentFormat);
