using System.Net;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>The DTLS transport's log events (ids 1100-1199).</summary>
internal static partial class DtlsLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "CoAP DTLS transport listening on {EndPoint} (suites {CipherSuites}, {HandshakeThreads} handshake threads)")]
    public static partial void Listening(ILogger logger, EndPoint endPoint, string cipherSuites, int handshakeThreads);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Information, Message = "DTLS certificate suites present {Source}: sha256 fingerprint {Fingerprint}, public key sha256 {PublicKeyFingerprint}")]
    public static partial void ServerCertificate(ILogger logger, string source, string fingerprint, string publicKeyFingerprint);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "DTLS session {SessionId} with {Peer} established: identity {Identity}, suite {CipherSuite}, connection id {ConnectionId}")]
    public static partial void HandshakeCompleted(ILogger logger, long sessionId, IPEndPoint peer, string? identity, string cipherSuite, string connectionId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "DTLS handshake with {Peer} failed: {Reason} (identity {Identity}): {Detail}")]
    public static partial void HandshakeFailed(ILogger logger, IPEndPoint peer, string reason, string? identity, string detail);

    /// <summary>Event 1103: a session closed, with its reason as <see cref="CloseReasonTag"/> spells it.</summary>
    public static void SessionClosed(ILogger logger, long sessionId, IPEndPoint peer, string? identity, SessionCloseReason reason) =>
        LogSessionClosed(logger, sessionId, peer, identity, CloseReasonTag(reason));

    /// <summary>The log's spelling of each close reason (fixed strings: what operators search the log for).</summary>
    public static string CloseReasonTag(SessionCloseReason reason) => reason switch
    {
        SessionCloseReason.CloseNotify => "close_notify",
        SessionCloseReason.Failed => "failed",
        SessionCloseReason.SendFailed => "send_failed",
        SessionCloseReason.Revoked => "revoked",
        SessionCloseReason.Idle => "idle",
        SessionCloseReason.HandshakeStuck => "handshake_stuck",
        SessionCloseReason.Replaced => "replaced",
        SessionCloseReason.AddressTaken => "address_taken",
        SessionCloseReason.Shutdown => "shutdown",
        SessionCloseReason.Moved => "moved",
        SessionCloseReason.SequenceExhausted => "sequence_exhausted",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "DTLS session {SessionId} with {Peer} (identity {Identity}) closed: {Reason}")]
    private static partial void LogSessionClosed(ILogger logger, long sessionId, IPEndPoint peer, string? identity, string reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Debug, Message = "DTLS handshake from {Peer} refused: {Reason}")]
    public static partial void HandshakeRefused(ILogger logger, IPEndPoint peer, string reason);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Debug, Message = "DTLS socket receive error {Error}")]
    public static partial void ReceiveError(ILogger logger, System.Net.Sockets.SocketError error);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Error, Message = "CoAP stack threw for a DTLS datagram from {Peer}")]
    public static partial void HandlerError(ILogger logger, Exception ex, IPEndPoint peer);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Information, Message = "Closed {Count} DTLS session(s) of identity {Identity} (revoked)")]
    public static partial void SessionsRevoked(ILogger logger, string identity, int count);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning, Message = "Unexpected error handling a DTLS datagram from {Peer}")]
    public static partial void DatagramError(ILogger logger, Exception ex, IPEndPoint? peer);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Debug, Message = "DTLS session {SessionId} with {Peer} failed while receiving: {Detail}")]
    public static partial void SessionFailed(ILogger logger, long sessionId, IPEndPoint peer, string detail);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "DTLS session {SessionId} (identity {Identity}) moved from {From} to {To} (RFC 9146 connection id)")]
    public static partial void SessionMoved(ILogger logger, long sessionId, IPEndPoint from, IPEndPoint to, string? identity);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "CoAP DTLS transport stopped; {Count} session(s) closed, {Released} left in the session store for the next gateway")]
    public static partial void Stopped(ILogger logger, int count, int released);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Debug, Message = "DTLS session {SessionId} of {Identity} (connection id {ConnectionId}) taken over from gateway {PreviousOwner}, at {Peer}, without a handshake")]
    public static partial void SessionTakenOver(ILogger logger, long sessionId, IPEndPoint peer, string identity, string connectionId, Guid previousOwner);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Warning, Message = "DTLS session store call {Operation} failed (session {SessionId}): {Detail}")]
    public static partial void StoreFailed(ILogger logger, long sessionId, string operation, string detail);
}
