using Org.BouncyCastle.Tls;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>
/// Ends a pumped BouncyCastle Receive whose record held no application data. BouncyCastle's record loop asks the
/// transport again until its wait expires; a plain -1 would make it spin. In BouncyCastle 2.7.0
/// <c>DtlsTransport.Receive</c> rethrows <see cref="TlsFatalAlertReceived"/> without failing the session, so a
/// subclass ends the call and keeps the session (the gateway's DTLS transport relies on the same behaviour and
/// has a unit test for it).
/// </summary>
internal sealed class PumpDrained() : TlsFatalAlertReceived(Org.BouncyCastle.Tls.AlertDescription.user_canceled);
