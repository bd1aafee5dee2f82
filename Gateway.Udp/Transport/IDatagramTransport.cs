using System.Net;

namespace NHub.Gateway.Transport;

/// <summary>Which transport a datagram arrived on.</summary>
public enum TransportKind
{
    /// <summary>Plain CoAP over UDP (RFC 7252 §6.1, <c>coap://</c>, port 5683).</summary>
    Udp,

    /// <summary>CoAP over DTLS 1.2 (RFC 7252 §9, <c>coaps://</c>, port 5684).</summary>
    Dtls,
}

/// <summary>
/// The sender of a datagram. <see cref="Identity"/> is the authenticated DTLS PSK identity, or null on plain UDP.
/// A DTLS peer keeps the same <see cref="PeerInfo"/> instance for the life of its session, so upper layers may use it
/// (or <see cref="SessionId"/>) as a key.
/// </summary>
public sealed record PeerInfo(IPEndPoint EndPoint, TransportKind Kind, string? Identity, long SessionId);

/// <summary>
/// What a transport delivers to the layer above (the CoAP stack). Called on a transport worker thread:
/// implementations must not block; the payload span is only valid during the call (the buffer is pooled).
/// </summary>
public interface IDatagramReceiver
{
    /// <summary>A datagram (for DTLS: the decrypted application data) from <paramref name="peer"/>.</summary>
    void OnDatagram(PeerInfo peer, ReadOnlySpan<byte> payload);

    /// <summary>The peer's session ended (DTLS close_notify, eviction, revocation, replacement). Never called for plain UDP.</summary>
    void OnPeerClosed(PeerInfo peer);
}

/// <summary>
/// The transport contract (after Californium's Connector): start/stop, non-blocking send, a receive callback.
/// Plain UDP and DTLS both implement it, so the CoAP stack above does not know which one it runs on.
/// </summary>
public interface IDatagramTransport : IAsyncDisposable
{
    TransportKind Kind { get; }

    /// <summary>The bound local endpoint (after <see cref="Start"/>).</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>Binds the socket and starts delivering datagrams to <paramref name="receiver"/>.</summary>
    void Start(IDatagramReceiver receiver);

    /// <summary>
    /// Sends without blocking the caller. The bytes are copied or written before this returns. Returns false
    /// (and counts a drop) when the datagram cannot be sent: unknown/closed peer session, or a full send queue.
    /// </summary>
    bool TrySend(PeerInfo peer, ReadOnlySpan<byte> datagram);

    /// <summary>Stops receiving, closes sessions (DTLS: sends close_notify) and releases the socket.</summary>
    ValueTask StopAsync();
}
