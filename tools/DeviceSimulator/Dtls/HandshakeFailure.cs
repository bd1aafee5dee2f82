using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>Names a failed handshake by its cause: the alert received or sent (RFC 5246 §7.2), a timeout, or I/O.</summary>
internal static class HandshakeFailure
{
    public static string Name(Exception ex) => ex switch
    {
        TlsFatalAlertReceived received => "alert_received_" + AlertDescription.GetName(received.AlertDescription),
        TlsTimeoutException => "handshake_timeout",
        TlsFatalAlert sent => "alert_sent_" + AlertDescription.GetName(sent.AlertDescription),
        IOException { InnerException: SocketException s } => "socket_" + s.SocketErrorCode,
        IOException => "io_error",
        _ => ex.GetType().Name,
    };
}
