using System.Net;
using System.Net.Sockets;

namespace NHub.Gateway.Transport.Dtls;

internal enum PeerState
{
    Handshaking,
    Established,
    Closed,
}

/// <summary>
/// One remote address on the DTLS socket: its channel, its handshake or session, and its lock. Every operation on
/// the session's record layer (decrypt, encrypt, close) runs under <see cref="Gate"/>, so it never sees two threads at
/// once. Created for a cookie-verified ClientHello, or for a session taken over from the store.
/// </summary>
internal sealed class DtlsPeer(SocketAddress address, IPEndPoint endPoint, PeerDatagramChannel channel, long sessionId, UInt128 clientHelloTag, long createdAt)
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

    /// <summary>
    /// The tag (<see cref="TagOf"/>) of the ClientHello.random of the handshake that made this peer (0 for a session taken over
    /// from the store): a late retransmission of that ClientHello is not a restart.
    /// </summary>
    public UInt128 ClientHelloTag { get; } = clientHelloTag;

    public long CreatedAt { get; } = createdAt;

    /// <summary>Monitor (reentrant): the CoAP layer may answer with TrySend from inside OnDatagram.</summary>
    public object Gate { get; } = new();

    /// <summary>Guarded by <see cref="Gate"/>; read without it only as a hint.</summary>
    public PeerState State { get; private set; } = PeerState.Handshaking;

    /// <summary>The session's record layer, set once established.</summary>
    public SessionRecordLayer? Records { get; private set; }

    /// <summary>The session can continue elsewhere: the store holds it (under its receive CID).</summary>
    public bool Stored { get; set; }

    /// <summary>This copy's lease in the session store (fresh per handshake and per takeover): the store's proof of ownership.</summary>
    public Guid LeaseId { get; set; } = Guid.NewGuid();

    /// <summary>What the store is to hold, kept until it took it (a secret: dropped once stored).</summary>
    public DtlsSessionSnapshot? PendingSnapshot { get; set; }

    /// <summary>Timestamp of the session's last write to the store (for the expiry refresh).</summary>
    public long LastCheckpoint { get; set; }

    /// <summary>Under <see cref="Gate"/>: an extension of the sequence reservation or a replay checkpoint is being written.</summary>
    public bool CheckpointInFlight { get; set; }

    /// <summary>Set once established; the same instance for the session's life.</summary>
    public PeerInfo? Info { get; private set; }

    public int SendLimit { get; private set; }

    /// <summary>Timestamp of the last record received or sent (for idle eviction).</summary>
    public long LastActivity
    {
        get => Volatile.Read(ref _lastActivity);
        set => Volatile.Write(ref _lastActivity, value);
    }

    /// <summary>Set (Interlocked) once OnPeerClosed was called for this session.</summary>
    public int ClosedNotified;

    private long _lastActivity = createdAt;

    /// <summary>
    /// The last 16 bytes of a ClientHello.random (RFC 5246 §7.4.1.2: 28 of its 32 bytes come from the client's
    /// random source, the first 4 may be its clock), kept in place of the whole array. The tag only has to tell a
    /// retransmission of one ClientHello from a new one sent from the same, cookie-verified address, so 128 random
    /// bits are as good as 256; a short random (malformed, refused later by the handshake) is zero-padded.
    /// </summary>
    public static UInt128 TagOf(ReadOnlySpan<byte> clientRandom)
    {
        Span<byte> tail = stackalloc byte[16]; // zeroed: the assembly does not skip locals init
        var take = Math.Min(16, clientRandom.Length);
        clientRandom[^take..].CopyTo(tail[(16 - take)..]);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(tail);
    }

    /// <summary>
    /// Under <see cref="Gate"/>: the handshake succeeded (or the session came from the store). The channel stops
    /// blocking; records are opened by <paramref name="records"/> from now on.
    /// </summary>
    public void Establish(SessionRecordLayer records, string? identity, string sessionKey, int datagramLimit)
    {
        Records = records;
        ConnectionId = records.ReceiveConnectionId;
        SendLimit = records.SendLimit(datagramLimit);
        Info = new PeerInfo(EndPoint, TransportKind.Dtls, identity, SessionId) { SessionKey = sessionKey };
        State = PeerState.Established;
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
    /// Under <see cref="Gate"/>: ends the peer. With <paramref name="notify"/> an established session sends close_notify
    /// (RFC 5246 §7.2.1); without, the peer is gone, restarted or moved and nothing is sent. Returns false when already closed.
    /// </summary>
    public bool Close(bool notify)
    {
        if (State == PeerState.Closed)
        {
            return false;
        }
        var wasEstablished = State == PeerState.Established;
        State = PeerState.Closed;
        if (!notify)
        {
            Channel.Mute();
        }
        if (notify && wasEstablished && Records is { } records)
        {
            // RFC 5246 §7.2: alert(warning, close_notify).
            Span<byte> alert = [1, 0];
            Span<byte> record = stackalloc byte[512]; // header, a CID of up to 255 bytes, protection
            var length = records.Seal(DtlsRecordHeader.Alert, alert, record, out _);
            if (length > 0)
            {
                Channel.Send(record[..length]);
            }
        }
        Channel.Close();
        Records?.Dispose();
        return true;
    }
}
