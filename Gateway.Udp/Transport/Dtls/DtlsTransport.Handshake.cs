using Org.BouncyCastle.Tls;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>The handshake path, on the dedicated handshake threads.</summary>
public sealed partial class DtlsTransport
{
    /// <summary>On a handshake thread: BouncyCastle's blocking server handshake for one cookie-verified peer.</summary>
    private void RunHandshake(HandshakeWork work)
    {
        var peer = work.Peer;
        if (peer.State == PeerState.Closed)
        {
            return;
        }
        if (_time.GetTimestamp() - peer.CreatedAt > _handshakeTimeout)
        {
            FailHandshake(peer, "queue_timeout", null, "waited longer than the handshake timeout for a handshake thread");
            return;
        }
        var identities = new CachedPskIdentityManager(_credentials, _stop.Token);
        var server = new PskDtlsServer(_crypto!, identities, _cipherSuites, (int)_options.HandshakeTimeout.TotalMilliseconds, _connectionIds);
        BcDtlsTransport session;
        try
        {
            session = new DtlsServerProtocol().Accept(server, peer.Channel, work.Request);
        }
        catch (Exception ex)
        {
            var reason = identities.RejectReason ?? ex switch
            {
                _ when peer.Channel.FinishedRejected => "wrong_key",
                TlsTimeoutException => "timeout",
                _ when peer.Channel.IsClosed && peer.State == PeerState.Closed => "cancelled",
                TlsFatalAlertReceived => "alert_received",
                TlsFatalAlert => "alert_sent",
                _ => "error",
            };
            var detail = peer.Channel.FinishedRejected
                ? $"the client's Finished failed authentication, so its PSK differs from the registered one ({server.LastAlert ?? "no alert sent"})"
                : server.LastAlert is { } alert ? $"{ex.Message} ({alert})" : ex.Message;
            if (peer.Channel.FinishedRejected && identities.OfferedIdentity is { } offered)
            {
                // The key we hold may be the stale one: a credential re-issued under the same identity (it is
                // prefix-device_id) before the revocation reached this gateway. Ask again next time; the cost is one
                // lookup per failed handshake, which the per-address handshake rate already bounds.
                _credentials.Invalidate(offered);
            }
            FailHandshake(peer, reason, identities.OfferedIdentity, detail);
            return;
        }
        server.ReleaseHandshakeState();
        var plaintext = t_plaintext ??= new byte[_options.MaxDatagramSize];
        bool closed;
        PumpOutcome outcome = default;
        lock (peer.Gate)
        {
            if (peer.State == PeerState.Closed)
            {
                // replaced, revoked or stopped while the handshake ran
                try
                {
                    session.Close();
                }
                catch (Exception ex) when (ex is IOException or TlsException)
                {
                    // nothing to close
                }
                _metrics.Handshake("cancelled");
                return;
            }
            EstablishLocked(peer, session, server);
            // Records that arrived between our Finished and now (the client's first request) are waiting.
            closed = peer.Channel.HasPending && PumpLocked(peer, plaintext, source: null, ref outcome);
        }
        AfterPump(peer, closed, outcome);
    }

    [ThreadStatic]
    private static byte[]? t_plaintext;
}
