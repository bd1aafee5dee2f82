namespace NHub.Gateway.Coap;

/// <summary>
/// One transport (UDP, DTLS, TCP, TLS, WebSocket) and the CoAP stack on top of it. The stack never learns which transport it
/// is, except that a reliable one (RFC 8323) needs no de-duplication.
/// </summary>
public sealed class CoapEndpoint : IDatagramReceiver, IAsyncDisposable
{
    private readonly IDatagramTransport _transport;

    public CoapEndpoint(IDatagramTransport transport, CoapServerOptions options, CoapRouter<PeerInfo> router, TimeProvider time, ICoapServerObserver? observer,
        CoapExchangeTracing? tracing = null)
    {
        _transport = transport;
        Server = new CoapServer<PeerInfo>(options, router, (peer, bytes) => _transport.TrySend(peer, bytes.Span), time, observer,
            peer => peer.SessionKey, tracing, RequestLimitKey, reliableTransport: transport.Kind.IsReliable());
        (observer as GatewayMetrics)?.Watch(Server);
    }

    public CoapServer<PeerInfo> Server { get; }

    /// <summary>
    /// Requests in progress are bounded per device where the device is known from the transport (a DTLS PSK
    /// identity names one device, whatever number of sessions it opens), per session otherwise (plain CoAP: the
    /// <c>?id=</c> a request names is not proof of anything). Both strings already exist: no allocation per request.
    /// </summary>
    public static string RequestLimitKey(PeerInfo peer) => peer.Identity ?? peer.SessionKey;

    public IDatagramTransport Transport => _transport;

    public void Start() => _transport.Start(this);

    public void OnDatagram(PeerInfo peer, ReadOnlySpan<byte> payload) => Server.OnDatagram(peer, payload);

    public bool TryReceiveInline(PeerInfo peer, ReadOnlyMemory<byte> payload) => Server.TryProcessInline(peer, payload);

    public void OnPeerReachable(PeerInfo peer) => Server.OnPeerReachable(peer);

    public void OnPeerClosed(PeerInfo peer) => Server.OnPeerClosed(peer);

    public void OnPeerMoved(PeerInfo peer) => Server.OnPeerMoved(peer);

    /// <summary>Set by the host: restores what the backend kept for a session that continues here (see <see cref="IDatagramReceiver.OnPeerResumed"/>).</summary>
    public Action<CoapEndpoint, PeerInfo>? Resumed { get; set; }

    public void OnPeerResumed(PeerInfo peer) => Resumed?.Invoke(this, peer);

    public async ValueTask DisposeAsync() => await _transport.DisposeAsync();
}
