using NHub.Gateway.Coap;

namespace NHub.Gateway.Backend;

/// <summary>The gateway's CoAP endpoints (plain and DTLS), for components that act on every one.</summary>
public sealed class CoapEndpoints
{
    private readonly List<CoapEndpoint> _all = [];

    public IReadOnlyList<CoapEndpoint> All => _all;

    public void Add(CoapEndpoint endpoint) => _all.Add(endpoint);
}
