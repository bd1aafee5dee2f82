using System.Net;
using System.Net.Sockets;

namespace NHub.Interop.Tests.Gateway;

/// <summary>The socket loops the test relays (<see cref="UdpNat"/>, <see cref="UdpBalancer"/>) share.</summary>
internal static class UdpRelay
{
    /// <summary>Hands every datagram <paramref name="socket"/> receives to <paramref name="onDatagram"/>, until stopped or the socket is closed.</summary>
    public static async Task ReceiveAllAsync(Socket socket, Func<EndPoint, byte[], Task> onDatagram, CancellationToken stop)
    {
        var buffer = new byte[2048];
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), stop);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // e.g. ICMP port unreachable from a backend that is gone
            }
            await onDatagram(received.RemoteEndPoint, buffer[..received.ReceivedBytes]);
        }
    }

    /// <summary>Sends one datagram; a failure is a lost datagram, as on a real network.</summary>
    public static async Task SendAsync(Socket socket, byte[] datagram, EndPoint target, CancellationToken stop)
    {
        try
        {
            await socket.SendToAsync(datagram, target, stop);
        }
        catch (Exception) when (!stop.IsCancellationRequested)
        {
            // a lost datagram
        }
    }
}
