using System.Net;

namespace NHub.Gateway.Transport;

/// <summary>Which transport a datagram arrived on.</summary>
public enum TransportKind
{
    /// <summary>Plain CoAP over UDP (RFC 7252 §6.1, <c>coap://</c>, port 5683).</summary>
    Udp,

    /// <summary>CoAP over DTLS 1.2 (RFC 7252 §9, <c>coaps://</c>, port 5684).</summary>
    Dtls,

    /// <summary>CoAP over TCP (RFC 8323 §3, <c>coap+tcp://</c>, port 5683/tcp).</summary>
    Tcp,

    /// <summary>CoAP over TLS 1.2 (RFC 8323 §3, <c>coaps+tcp://</c>, port 5684/tcp).</summary>
    Tls,

    /// <summary>CoAP over WebSockets (RFC 8323 §4, <c>coap+ws://</c> at <c>/.well-known/coap</c> on the HTTP host).</summary>
    WebSocket,

    /// <summary>CoAP over WebSockets over HTTPS (RFC 8323 §4, <c>coaps+ws://</c>).</summary>
    SecureWebSocket,
}

public static class TransportKindExtensions
{
    /// <summary>The transport encrypts and authenticates the peer (DTLS, TLS, WebSockets over HTTPS).</summary>
    public static bool IsSecure(this TransportKind kind) => kind is TransportKind.Dtls or TransportKind.Tls or TransportKind.SecureWebSocket;

    /// <summary>The transport carries RFC 8323's framing over a reliable connection (no ACKs, no message ids on the wire).</summary>
    public static bool IsReliable(this TransportKind kind) => kind is not (TransportKind.Udp or TransportKind.Dtls);

    /// <summary>The URI scheme devices use for it (RFC 7252 §6, RFC 8323 §8).</summary>
    public static string Scheme(this TransportKind kind) => kind switch
    {
        TransportKind.Udp => "coap",
        TransportKind.Dtls => "coaps",
        TransportKind.Tcp => "coap+tcp",
        TransportKind.Tls => "coaps+tcp",
        TransportKind.WebSocket => "coap+ws",
        _ => "coaps+ws",
    };
}

/// <summary>
/// The sender of a datagram. <see cref="Identity"/> is the authenticated credential's name (a PSK identity, or the
/// <c>x509:</c>/<c>rpk:</c> name of a certificate or key) over DTLS, TLS and authenticated WebSockets; null when the
/// transport authenticated nobody (plain UDP, TCP, unauthenticated WebSockets: the request names its device).
/// A reliable connection (TCP, TLS, WebSocket) is one session.
/// A DTLS peer keeps the same <see cref="PeerInfo"/> instance for the life of its session, so upper layers may use it
/// (or <see cref="SessionId"/>) as a key. Identity is the session, not the address: a DTLS session with a Connection
/// ID (RFC 9146) may move to a new address, and then <see cref="EndPoint"/> changes while the peer stays equal to
/// itself, so de-duplication, block-wise transfers and Observe relations follow the device. Sends are routed by the
/// session, so they always go to the current address.
/// </summary>
public sealed record PeerInfo(IPEndPoint EndPoint, TransportKind Kind, string? Identity, long SessionId)
{
    /// <summary>
    /// Names the peer's session outside this process (in the telemetry's JetStream message id): the same on every
    /// gateway and after a restart, different for every other session. DTLS: derived from the handshake's randoms
    /// (<see cref="Dtls.DtlsSessionKey"/>), so a new session from the same address and port is another session
    /// (RFC 7252 §9.1). Plain UDP has no session: the source endpoint is all there is (§4.5). docs/deduplication.md.
    /// </summary>
    public string SessionKey { get; init; } = "coap:" + EndPoint;

    private IPEndPoint _endPoint = EndPoint;

    /// <summary>The address the peer's latest datagrams came from (and where sends go); changes only when a DTLS session moves.</summary>
    public IPEndPoint EndPoint
    {
        get => Volatile.Read(ref _endPoint);
        init => _endPoint = value;
    }

    /// <summary>The transport moved the session to <paramref name="endPoint"/> (after an authenticated CID record from there).</summary>
    internal void MoveTo(IPEndPoint endPoint) => Volatile.Write(ref _endPoint, endPoint);

    /// <summary>
    /// The session, not the address: session id (unique per transport: one per DTLS session, one per plain-UDP
    /// address), kind and identity. The same instance short-cuts it (upper layers key by the peer).
    /// </summary>
    public bool Equals(PeerInfo? other) =>
        ReferenceEquals(this, other) || (other is not null && SessionId == other.SessionId && Kind == other.Kind
            && string.Equals(Identity, other.Identity, StringComparison.Ordinal));

    /// <summary>Session id and kind only: cheaper than hashing the endpoint, and equal peers share both.</summary>
    public override int GetHashCode() => HashCode.Combine(SessionId, Kind);
}

/// <summary>
/// What a transport delivers to the layer above (the CoAP stack). Called on a transport thread: implementations
/// must not block; the payload is only valid during the call (the buffer is pooled).
/// </summary>
public interface IDatagramReceiver
{
    /// <summary>A datagram (for DTLS: the decrypted application data) from <paramref name="peer"/>, on a worker.</summary>
    void OnDatagram(PeerInfo peer, ReadOnlySpan<byte> payload);

    /// <summary>
    /// Offered first, on the receive loop itself: returns true when the datagram was fully handled synchronously
    /// (no thread hop); false, having done nothing, when it needs <see cref="OnDatagram"/> on a worker — the
    /// transport then queues a copy (bounded queue, its overflow policy applies). A transport may skip this.
    /// </summary>
    bool TryReceiveInline(PeerInfo peer, ReadOnlyMemory<byte> payload) => false;

    /// <summary>
    /// The peer proved reachable again: its DTLS session moved to a new address (RFC 9146 §6), or its first record
    /// after a silence arrived. Whatever waits for it (a confirmable notification in retransmission) can go now.
    /// Called on a transport thread, possibly under the session's lock: must not block.
    /// </summary>
    void OnPeerReachable(PeerInfo peer)
    {
    }

    /// <summary>
    /// A DTLS session established elsewhere (another gateway, or this gateway's previous process) continues here,
    /// without a handshake (docs/stateless-gateway.md): what the upper layer kept for it outside the process (an
    /// Observe relation) can be restored. Called before the session's first datagram is delivered; must not block.
    /// </summary>
    void OnPeerResumed(PeerInfo peer)
    {
    }

    /// <summary>
    /// The peer's session ended here but continues elsewhere (another gateway took it over, or this gateway stopped
    /// and left it in the session store): forget it as on close, without ending what the device still has (its Observe
    /// relation). Defaults to <see cref="OnPeerClosed"/>.
    /// </summary>
    void OnPeerMoved(PeerInfo peer) => OnPeerClosed(peer);

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

    /// <summary>Whether <paramref name="peer"/>'s session is still open here (plain UDP has no sessions: always).</summary>
    bool IsOpen(PeerInfo peer) => true;

    /// <summary>
    /// Stops receiving and releases the socket. DTLS: sessions the store holds are left to the next gateway (no
    /// close_notify); the others get close_notify.
    /// </summary>
    ValueTask StopAsync();
}
