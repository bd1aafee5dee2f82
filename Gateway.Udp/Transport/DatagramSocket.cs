using System.Net;
using System.Net.Sockets;

namespace NHub.Gateway.Transport;

/// <summary>How both transports open their one UDP socket.</summary>
internal static class DatagramSocket
{
    /// <summary>
    /// Binds a UDP socket. <c>::</c> gives one dual-mode socket serving IPv4 (as mapped addresses) and IPv6;
    /// <paramref name="bufferBytes"/> &gt; 0 sets SO_RCVBUF/SO_SNDBUF.
    /// </summary>
    public static Socket Bind(string bindAddress, int port, int bufferBytes) => Bind(bindAddress, port, bufferBytes, reusePort: false);

    /// <summary>Whether <see cref="BindGroup"/> can give each socket its own flows (Linux SO_REUSEPORT).</summary>
    public static bool SupportsReusePort => OperatingSystem.IsLinux();

    /// <summary>
    /// <paramref name="count"/> UDP sockets on one port with SO_REUSEPORT (Linux): the kernel hashes each remote
    /// address and port to one of them, so one peer's datagrams always arrive on the same socket, in order, and
    /// each socket can have its own receive thread. Without SO_REUSEPORT support, one socket.
    /// </summary>
    public static Socket[] BindGroup(string bindAddress, int port, int bufferBytes, int count)
    {
        if (count <= 1 || !SupportsReusePort)
        {
            return [Bind(bindAddress, port, bufferBytes)];
        }
        var sockets = new Socket[count];
        try
        {
            sockets[0] = Bind(bindAddress, port, bufferBytes, reusePort: true);
            var actualPort = ((IPEndPoint)sockets[0].LocalEndPoint!).Port;
            for (var i = 1; i < count; i++)
            {
                sockets[i] = Bind(bindAddress, actualPort, bufferBytes, reusePort: true);
            }
            return sockets;
        }
        catch
        {
            foreach (var s in sockets)
            {
                s?.Dispose();
            }
            throw;
        }
    }

    private static Socket Bind(string bindAddress, int port, int bufferBytes, bool reusePort)
    {
        var address = IPAddress.Parse(bindAddress);
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any))
        {
            socket.DualMode = true;
        }
        if (bufferBytes > 0)
        {
            socket.ReceiveBufferSize = bufferBytes;
            socket.SendBufferSize = bufferBytes;
        }
        if (reusePort)
        {
            const int SolSocket = 1, SoReusePort = 15; // <asm-generic/socket.h>
            socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
        }
        socket.Bind(new IPEndPoint(address, port));
        return socket;
    }
}
