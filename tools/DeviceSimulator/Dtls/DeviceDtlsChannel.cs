using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>
/// BouncyCastle's <see cref="DatagramTransport"/> over one device's connected UDP socket, for the handshake only
/// (on a handshake-pool thread): Receive blocks on the socket as BouncyCastle expects. Once the handshake is done the
/// device seals and opens its records itself (<see cref="ClientRecordLayer"/>) and this channel is dropped.
/// </summary>
internal sealed class DeviceDtlsChannel(Socket socket, int datagramLimit) : DatagramTransport
{
    public int GetReceiveLimit() => datagramLimit;

    public int GetSendLimit() => datagramLimit;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    /// <remarks>BouncyCastle's contract: <paramref name="waitMillis"/> 0 waits forever; -1 means nothing arrived in time.</remarks>
    public int Receive(Span<byte> buffer, int waitMillis)
    {
        try
        {
            if (!socket.Poll(waitMillis == 0 ? -1 : waitMillis * 1000, SelectMode.SelectRead))
            {
                return -1;
            }
            return socket.Receive(buffer);
        }
        catch (SocketException ex)
        {
            // ICMP port unreachable and friends: the server is not there.
            throw new IOException("socket: " + ex.SocketErrorCode, ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException("socket closed", ex);
        }
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        try
        {
            socket.Send(buffer);
        }
        catch (SocketException)
        {
            // UDP: a failed send is a lost datagram; DTLS retransmits handshake flights, CoAP reports a timeout.
        }
        catch (ObjectDisposedException)
        {
            // closing
        }
    }

    public void Close()
    {
    }
}
