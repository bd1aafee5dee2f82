using System.IO.Hashing;

namespace NHub.Coap.Stack;

/// <summary>
/// A 64-bit fingerprint of a CoAP message's bytes. RFC 7252 §4.2/§4.5: a retransmission is the same message sent
/// again, so it has the same fingerprint; a message that merely reuses a message id and token (a device that
/// restarted its counters) has another one unless its whole content is identical. XXH3 with a fixed seed: the
/// same on every gateway and after a restart, so it may also name the exchange outside the process (the
/// telemetry's JetStream message id, docs/deduplication.md). Not a security property: a peer can only collide its
/// own messages.
/// </summary>
public static class MessageFingerprint
{
    public static ulong Of(ReadOnlySpan<byte> message) => XxHash3.HashToUInt64(message);
}
