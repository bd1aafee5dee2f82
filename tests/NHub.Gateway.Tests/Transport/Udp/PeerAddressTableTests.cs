using System.Net;
using NHub.Gateway.Transport.Udp;

namespace NHub.Gateway.Tests.Transport.Udp;

public sealed class PeerAddressTableTests
{
    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("::1", "::1")]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3")] // dual-mode sockets report IPv4 peers as mapped addresses
    public void Peers_of_either_family_map_to_one_stable_peer(string address, string expected)
    {
        var table = new PeerAddressTable(16);
        var received = new IPEndPoint(IPAddress.Parse(address), 40000).Serialize();
        var peer = table.GetOrAdd(received);
        Assert.Equal(IPAddress.Parse(expected), peer.EndPoint.Address);
        Assert.Equal(40000, peer.EndPoint.Port);
        Assert.Same(peer, table.GetOrAdd(new IPEndPoint(IPAddress.Parse(address), 40000).Serialize()));
        Assert.True(table.TryGetAddress(peer, out var back));
        Assert.Equal(received, back);
    }

    [Fact]
    public void The_table_is_bounded()
    {
        var table = new PeerAddressTable(16);
        for (var port = 1; port <= 100; port++)
        {
            table.GetOrAdd(new IPEndPoint(IPAddress.Loopback, port).Serialize());
        }
        Assert.True(table.Count <= 16);
    }
}
