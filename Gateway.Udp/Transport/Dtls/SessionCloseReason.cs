namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Why a DTLS peer (a session, or a handshake not yet a session) was closed; the log spells each as the string at the
/// start of its summary (<see cref="DtlsLog.CloseReasonTag"/>). Every close goes through
/// <c>DtlsTransport.SessionLifecycle.cs</c>.
/// </summary>
internal enum SessionCloseReason
{
    /// <summary><c>close_notify</c>: the client sent close_notify (RFC 5246 §7.2.1); the gateway answered it.</summary>
    CloseNotify,

    /// <summary><c>failed</c>: a fatal alert from the client.</summary>
    Failed,

    /// <summary><c>send_failed</c>: a datagram for the session could not be protected.</summary>
    SendFailed,

    /// <summary><c>moved</c>: another gateway took the session over (docs/stateless-gateway.md); nothing sent.</summary>
    Moved,

    /// <summary><c>sequence_exhausted</c>: the 48-bit record sequence space of epoch 1 is used up (RFC 6347 §4.1).</summary>
    SequenceExhausted,

    /// <summary><c>revoked</c>: the session's PSK identity was revoked (close_notify sent).</summary>
    Revoked,

    /// <summary><c>idle</c>: no record for <see cref="DtlsOptions.SessionIdleTimeout"/> (closed silently: the device sleeps).</summary>
    Idle,

    /// <summary><c>handshake_stuck</c>: a handshake still running after twice the handshake timeout.</summary>
    HandshakeStuck,

    /// <summary><c>replaced</c>: a cookie-verified ClientHello from the same address started a new session (RFC 6347 §4.2.8).</summary>
    Replaced,

    /// <summary><c>address_taken</c>: a Connection ID session moved to this session's address, and this one has no CID to be found by.</summary>
    AddressTaken,

    /// <summary><c>shutdown</c>: the transport stopped (close_notify sent to established sessions).</summary>
    Shutdown,
}
