using System.Net;
using System.Net.Sockets;
using NHub.Gateway.Transport;

namespace NHub.Gateway.Tests.Transport;

/// <summary>The SO_REUSEPORT socket group behind several receive threads: one port, each peer always on one socket.</summary>
public sealed class DatagramSocketTests
{
    [Fact]
    public void A_group_shares_one_port_and_keeps_every_peer_on_one_socket()
    {
        if (!DatagramSocket.SupportsReusePort)
        {
            return; // SO_REUSEPORT groups are Linux only; elsewhere BindGroup gives one socket
        }
        var group = DatagramSocket.BindGroup("127.0.0.1", 0, 0, 4);
        try
        {
            Assert.Equal(4, group.Length);
            var port = ((IPEndPoint)group[0].LocalEndPoint!).Port;
            Assert.All(group, s => Assert.Equal(port, ((IPEndPoint)s.LocalEndPoint!).Port));

            var clients = Enumerable.Range(0, 16).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)).ToList();
            try
            {
                foreach (var c in clients)
                {
                    c.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                }
                var server = new IPEndPoint(IPAddress.Loopback, port);
                for (var round = 0; round < 5; round++)
                {
                    for (var i = 0; i < clients.Count; i++)
                    {
                        clients[i].SendTo([(byte)i], server);
                    }
                }

                // Every datagram of client i arrives on the same socket of the group (the kernel hashes the 4-tuple).
                var socketOf = new Dictionary<int, int>();
                var received = 0;
                var buffer = new byte[16];
                while (received < clients.Count * 5)
                {
                    var ready = group.ToList();
                    Socket.Select(ready, null, null, 5_000_000);
                    Assert.NotEmpty(ready); // within 5 s, all 80 loopback datagrams are there
                    foreach (var s in ready)
                    {
                        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                        s.ReceiveFrom(buffer, ref from);
                        var index = Array.IndexOf(group, s);
                        var client = buffer[0];
                        Assert.Equal(socketOf.TryAdd(client, index) ? index : socketOf[client], index);
                        received++;
                    }
                }
                Assert.Equal(clients.Count, socketOf.Count);
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
            }
        }
        finally
        {
            foreach (var s in group)
            {
                s.Dispose();
            }
        }
    }

    [Fact]
    public void A_group_of_one_is_a_plain_socket()
    {
        var group = DatagramSocket.BindGroup("127.0.0.1", 0, 0, 1);
        Assert.Single(group);
        group[0].Dispose();
    }
}
