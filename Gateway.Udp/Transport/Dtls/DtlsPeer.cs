using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;

namespace NHub.Gateway.Transport.Dtls;

internal enum PeerState
{
    Handshaking,
    Established,
    Closed,
}

/// <summary>
/// One remote address on the DTLS socket: its channel, its handshake or session, and its lock. Every operation on
/// the BouncyCastle session (decrypt, encrypt, close) runs under <see cref="Gate"/>, so the record layer never sees
/// two threads at once. Created only for a cookie-verified ClientHello.
/// </summary>
internal sealed class DtlsPeer(SocketAddress address, IPEndPoint endPoint, PeerDatagramChannel channel, long sessionId, byte[] clientRandom, long createdAt)
{
    /// <summary>
    /// Owned copy of the socket address (never mutated): the peer table's key and where sends go. Replaced only by
    /// <see cref="MoveTo"/>, under <see cref="Gate"/>.
    /// </summary>
    public SocketAddress Address { get; private set; } = address;

    public IPEndPoint EndPoint { get; private set; } = endPoint;

    /// <summary>The Connection ID the client puts in its records (RFC 9146), null when the session has none. Set once established.</summary>
    public byte[]? ConnectionId { get; private set; }

    /// <summary>Timestamp of the last record that authenticated (for wake detection; sends do not count).</summary>
    public long LastReceived { get; set; }

    /// <summary>Set (Interlocked) while the peer counts towards the table's cap; cleared by the one removal that counts.</summary>
    public int Registered;

    public PeerDatagramChannel Channel { get; } = channel;

    public long SessionId { get; } = sessionId;

    /// <summary>ClientHello.random of the handshake that made this peer: a late retransmission of that ClientHello is not a restart.</summary>
    public byte[] ClientRandom { get; } = clientRandom;

    public long CreatedAt { get; } = createdAt;

    /// <summary>Monitor (reentrant): the CoAP layer may answer with TrySend from inside OnDatagram.</summary>
    public object Gate { get; } = new();

    /// <summary>Guarded by <see cref="Gate"/>; read without it only as a hint.</summary>
    public PeerState State { get; private set; } = PeerState.Handshaking;

    public BcDtlsTransport? Session { get; private set; }

    /// <summary>Set once established; the same instance for the session's life.</summary>
    public PeerInfo? Info { get; private set; }

    public int SendLimit { get; private set; }

    /// <summary>Timestamp of the last record received or sent (for idle eviction).</summary>
    public long LastActivity
    {
        get => Volatile.Read(ref _lastActivity);
        set => Volatile.Write(ref _lastActivity, value);
    }

    public ReplayWindow Replay;

    /// <summary>Set (Interlocked) once OnPeerClosed was called for this session.</summary>
    public int ClosedNotified;

    private long _lastActivity = createdAt;

    /// <summary>Under <see cref="Gate"/>: the handshake succeeded. Receive stops blocking; records are pumped from now on.</summary>
    public void Establish(BcDtlsTransport session, string? identity, string sessionKey, byte[]? connectionId)
    {
        Session = session;
        ConnectionId = connectionId;
        SendLimit = session.GetSendLimit();
        Info = new PeerInfo(EndPoint, TransportKind.Dtls, identity, SessionId) { SessionKey = sessionKey };
        State = PeerState.Established;
        Channel.StopBlocking();
    }

    /// <summary>
    /// Under <see cref="Gate"/>, for an authenticated CID record newer than any before it (RFC 9146 §6): from now on
    /// everything for this session goes to <paramref name="address"/> (an owned copy). The PeerInfo instance stays
    /// the same, so the CoAP layer's state for the session (dedup, block-wise, Observe) stays with it.
    /// </summary>
    public void MoveTo(SocketAddress address, IPEndPoint endPoint)
    {
        Address = address;
        EndPoint = endPoint;
        Channel.Retarget(address);
        Info?.MoveTo(endPoint);
    }

    /// <summary>
    /// Under <see cref="Gate"/>: ends the peer. With <paramref name="notify"/> BouncyCastle sends close_notify
    /// (RFC 5246 §7.2.1); without, the peer is gone or restarted and nothing is sent. Returns false when already closed.
    /// </summary>
    public bool Close(bool notify)
    {
        if (State == PeerState.Closed)
        {
            return false;
        }
        State = PeerState.Closed;
        if (!notify)
        {
            Channel.Mute();
        }
        try
        {
            Session?.Close();
        }
        catch (Exception ex) when (ex is IOException or TlsException or InvalidOperationException)
        {
            // the session was already failed; nothing more to send
        }
        Channel.Close();
        return true;
    }
}
