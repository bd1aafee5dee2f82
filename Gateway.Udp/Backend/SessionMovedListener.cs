using NHub.Gateway.Resources;
using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Backend;

/// <summary>
/// This gateway's session notices (<see cref="GatewayObserver"/>): a DTLS session another gateway took over is dropped here at once,
/// without a word to the device (its records go to the new owner now). Without the notice the copy would still end,
/// at its next store write, which the store refuses.
/// </summary>
public sealed partial class SessionMovedListener(DtlsTransport transport, ILogger<SessionMovedListener> logger)
{
    public void OnSessionMoved(DtlsSessionMoved moved)
    {
        byte[] cid;
        try
        {
            cid = Convert.FromHexString(moved.ConnectionId);
        }
        catch (FormatException)
        {
            return;
        }
        if (transport.DropMovedSession(cid, moved.SessionKey, moved.PreviousLease))
        {
            LogDropped(logger, moved.ConnectionId, moved.NewOwner);
        }
    }

    [LoggerMessage(EventId = 5201, Level = LogLevel.Debug, Message = "DTLS session {ConnectionId} taken over by gateway {NewOwner}: local copy dropped")]
    private static partial void LogDropped(ILogger logger, string connectionId, Guid newOwner);
}
