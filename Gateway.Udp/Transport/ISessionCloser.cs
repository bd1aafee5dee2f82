namespace NHub.Gateway.Transport;

/// <summary>
/// A transport that can end a device's live sessions (the DTLS transport), for the revocation listener. An interface
/// so the listener does not depend on the transport's construction order.
/// </summary>
public interface ISessionCloser
{
    /// <summary>Closes every live session authenticated as <paramref name="identity"/>; returns how many.</summary>
    int CloseSessions(string identity);
}
