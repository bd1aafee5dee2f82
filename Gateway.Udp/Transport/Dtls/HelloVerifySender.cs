using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Where <see cref="DtlsVerifier"/> writes its HelloVerifyRequest (RFC 6347 §4.2.1): straight back to the
/// datagram's source, holding no state about it. One per receive loop; <see cref="Target"/> is set per datagram.
/// While <see cref="Defer"/> is set the request is held in a reused buffer instead (see <see cref="CookieVerifier"/>).
/// </summary>
internal sealed class HelloVerifySender(Socket socket, int sendLimit) : DatagramSender
{
    private readonly byte[] _deferred = new byte[sendLimit];
    private int _deferredLength;

    public SocketAddress? Target { get; set; }

    /// <summary>Set when the verifier sent a HelloVerifyRequest for the current datagram.</summary>
    public bool Sent { get; set; }

    /// <summary>Hold the next HelloVerifyRequest until <see cref="SendDeferred"/> or <see cref="DiscardDeferred"/>.</summary>
    public bool Defer { get; set; }

    public int GetSendLimit() => sendLimit;

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (Defer)
        {
            if (buffer.Length <= _deferred.Length)
            {
                buffer.CopyTo(_deferred);
                _deferredLength = buffer.Length;
            }
            return;
        }
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

    public void SendDeferred()
    {
        var length = _deferredLength;
        _deferredLength = 0;
        if (length > 0)
        {
            Send(_deferred.AsSpan(0, length));
        }
    }

    public void DiscardDeferred() => _deferredLength = 0;
}
