using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Thrown by <see cref="PeerDatagramChannel"/> to end a pumped BouncyCastle Receive whose record carried no
/// application data. BouncyCastle's record loop keeps asking the transport until its wait expires (up to 1 ms of
/// spinning per such record, which a spoofer could repeat); a plain -1 does not stop it. In 2.7.0,
/// <c>DtlsTransport.Receive</c> rethrows <see cref="TlsFatalAlertReceived"/> without failing the session (it is the
/// first catch clause), and nothing below it catches it, so deriving from it ends the call with the session intact.
/// The pump catches it and treats it as "no data". Covered by a unit test, so a BouncyCastle upgrade that changes
/// this fails loudly.
/// </summary>
internal sealed class PumpDrainedSignal() : TlsFatalAlertReceived(Org.BouncyCastle.Tls.AlertDescription.user_canceled);
