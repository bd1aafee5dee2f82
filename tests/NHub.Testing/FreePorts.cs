using System.Net;
using System.Net.Sockets;

namespace NHub.Testing;

/// <summary>Free loopback ports, never handed out twice in one test run.</summary>
public static class FreePorts
{
    private static readonly HashSet<int> Issued = [];
    private static readonly Lock Gate = new();

    /// <summary>A port free for both TCP and UDP on 127.0.0.1.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
                if (Issued.Contains(port))
                {
                    continue;
                }
                try
                {
                    using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                }
                catch (SocketException)
                {
                    continue;
                }
                Issued.Add(port);
                return port;
            }
            throw new InvalidOperationException("No free loopback port found");
        }
    }
}
