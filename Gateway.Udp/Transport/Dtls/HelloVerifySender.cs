using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Where <see cref="DtlsVerifier"/> writes its HelloVerifyRequest (RFC 6347 §4.2.1): straight back to the
/// datagram's source, holding no state about it. One per receive loop; <see cref="Target"/> is set per datagram.
/// </summary>
internal sealed class HelloVerifySender(Socket socket, int sendLimit) : DatagramSender
{
    public SocketAddress? Target { get; set; }

    /// <summary>Set when the verifier sent a HelloVerifyRequest for the current datagram.</summary>
    public bool Sent { get; set; }

    public int GetSendLimit() => sendLimit;

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        try
        {
            socket.SendTo(buffer, SocketFlags.None, Target!);
            Sent = true;
        }
        catch (SocketException)
        {
            // lost like any UDP datagram; the client retransmits its ClientHello
        }
    }
}
