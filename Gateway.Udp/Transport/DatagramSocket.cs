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
    public static Socket Bind(string bindAddress, int port, int bufferBytes)
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
        socket.Bind(new IPEndPoint(address, port));
        return socket;
    }
}
