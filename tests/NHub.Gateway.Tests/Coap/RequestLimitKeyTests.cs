using System.Net;
using NHub.Gateway.Coap;
using NHub.Gateway.Transport;

namespace NHub.Gateway.Tests.Coap;

/// <summary>Whose requests in progress the gateway counts together (Gateway:Coap:MaxRequestsInProgressPerPeer).</summary>
public sealed class RequestLimitKeyTests
{
    [Fact]
    public void Two_dtls_sessions_of_one_device_count_together_and_plain_peers_count_alone()
    {
        var one = new PeerInfo(new IPEndPoint(IPAddress.Loopback, 40001), TransportKind.Dtls, "meter-7", 1) { SessionKey = "dtls:aa" };
        var two = new PeerInfo(new IPEndPoint(IPAddress.Loopback, 40002), TransportKind.Dtls, "meter-7", 2) { SessionKey = "dtls:bb" };
        var other = new PeerInfo(new IPEndPoint(IPAddress.Loopback, 40003), TransportKind.Dtls, "meter-8", 3) { SessionKey = "dtls:cc" };
        var plainA = new PeerInfo(new IPEndPoint(IPAddress.Loopback, 40004), TransportKind.Udp, null, 4);
        var plainB = new PeerInfo(new IPEndPoint(IPAddress.Loopback, 40005), TransportKind.Udp, null, 5);

        Assert.Equal(CoapEndpoint.RequestLimitKey(one), CoapEndpoint.RequestLimitKey(two));
        Assert.NotEqual(CoapEndpoint.RequestLimitKey(one), CoapEndpoint.RequestLimitKey(other));
        Assert.NotEqual(CoapEndpoint.RequestLimitKey(plainA), CoapEndpoint.RequestLimitKey(plainB));
        Assert.Same(plainA.SessionKey, CoapEndpoint.RequestLimitKey(plainA)); // no string built per request
    }
}
