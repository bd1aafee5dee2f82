namespace NHub.Coap.Stack;

/// <summary>What the transport under a <see cref="CoapConnection"/> does for it (one TCP, TLS or WebSocket connection).</summary>
public interface ICoapConnectionHost
{
    /// <summary>
    /// A message in the RFC 7252 datagram form, for the message layer (<see cref="CoapServer{TPeer}.TryProcessInline"/>
    /// or <see cref="CoapServer{TPeer}.OnDatagram"/>). The memory is the connection's and valid only during the call.
    /// </summary>
    void Deliver(ReadOnlyMemory<byte> datagram);

    /// <summary>
    /// Queues <paramref name="frame"/> (owned by the host from now on) for the peer, after everything queued before.
    /// When <paramref name="acknowledge"/> is not −1, call <see cref="CoapConnection.OnWritten"/> with it once the
    /// frame was handed to the operating system. False when the queue is full or the connection closed.
    /// </summary>
    bool Write(byte[] frame, int acknowledge);

    /// <summary>Close the connection once what is queued was written (after an Abort or Release frame, or the peer's).</summary>
    void Close(string reason);
}

/// <summary>
/// One CoAP-over-reliable-transport connection (RFC 8323), between a byte stream (or WebSocket messages) and the
/// message layer that speaks RFC 7252 datagrams. The message layer is not changed for it:
/// <list type="bullet">
/// <item>Each request frame is handed on as a Confirmable datagram with a message id of this connection's own; the
/// message layer answers it with a piggybacked ACK, whose response goes out as a frame (RFC 8323 §3.2: no type, no
/// message id).</item>
/// <item>What the message layer sends as Confirmable (a separate response, a confirmable notification) is
/// acknowledged on the peer's behalf once written: the transport is reliable (RFC 8323 §2.2: no ACKs on the wire),
/// so "delivered" means handed to the operating system's socket. A retransmission of one still queued is not written
/// twice; an empty ACK the layer sends is dropped; an RST (its answer to a request it cannot parse) becomes an Abort,
/// the connection-level error of §5.6.</item>
/// <item>Signaling (§5) is answered here: the CSM that must be the first message each way (§5.3: a connection whose
/// first message is not a CSM is aborted), Ping → Pong with the Ping's token (§5.4), Release and Abort close the
/// connection (§5.5, §5.6). Empty messages are ignored (§3.3).</item>
/// </list>
/// Receiving runs on one thread at a time (the transport's read loop); <see cref="Send"/> and <see cref="OnWritten"/>
/// may run on any.
/// </summary>
public sealed class CoapConnection
{
    private readonly CoapFramingKind _kind;
    private readonly ICoapConnectionHost _host;
    private readonly int _maxReceive;
    private readonly bool _blockWiseTransfer;
    private readonly HashSet<ushort> _queuedConfirmables = [];
    private readonly Lock _gate = new();
    private byte[] _buffer = [];
    private byte[] _datagram = [];
    private int _buffered;
    private bool _peerCsmSeen;
    private ushort _nextRequestId;
    private int _closed;

    /// <param name="kind">The framing: TCP (length-prefixed stream) or WebSocket (one message per frame).</param>
    /// <param name="host">Where frames go and datagrams are delivered.</param>
    /// <param name="maxMessageSize">The largest message this side receives: announced in its CSM (§5.3.1); a larger frame aborts the connection.</param>
    /// <param name="blockWiseTransfer">Announce BERT (§5.3.2). The message layer here does not implement BERT, so false.</param>
    public CoapConnection(CoapFramingKind kind, ICoapConnectionHost host, int maxMessageSize = CoapSignalOption.DefaultMaxMessageSize, bool blockWiseTransfer = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageSize, 64);
        _kind = kind;
        _host = host;
        _maxReceive = maxMessageSize;
        _blockWiseTransfer = blockWiseTransfer;
        _nextRequestId = (ushort)Random.Shared.Next(ushort.MaxValue + 1);
    }

    /// <summary>The largest message the peer receives (its CSM's Max-Message-Size; 1152 until then, §5.3.1).</summary>
    public int PeerMaxMessageSize { get; private set; } = CoapSignalOption.DefaultMaxMessageSize;

    /// <summary>The peer announced BERT in its CSM.</summary>
    public bool PeerBlockWiseTransfer { get; private set; }

    /// <summary>Why the connection ended (set once): "peer_abort", "peer_release", "no_csm", "too_large", "malformed", ….</summary>
    public string? CloseReason { get; private set; }

    /// <summary>The diagnostic of the peer's Abort or Release, or of ours.</summary>
    public string? CloseDetail { get; private set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>The peer's CSM arrived (§5.3): the connection is in service.</summary>
    public bool PeerCsmSeen => Volatile.Read(ref _peerCsmSeen);

    /// <summary>§5.3: sends this side's CSM. Call once, first, when the connection is up (after the TLS handshake).</summary>
    public void Start() => WriteFrame(CoapSignaling.Csm((uint)_maxReceive, _blockWiseTransfer), acknowledge: -1);

    /// <summary>TCP: bytes from the stream, in any chunking. False once the connection is closed (stop reading).</summary>
    public bool OnBytes(ReadOnlySpan<byte> bytes)
    {
        if (IsClosed)
        {
            return false;
        }
        if (_buffered == 0)
        {
            // Fast path: complete frames straight from the read buffer; only a trailing partial frame is kept.
            var consumed = ProcessFrames(bytes);
            if (consumed < 0)
            {
                return false;
            }
            Keep(bytes[consumed..]);
            return !IsClosed;
        }
        Keep(bytes);
        var used = ProcessFrames(_buffer.AsSpan(0, _buffered));
        if (used < 0)
        {
            return false;
        }
        _buffer.AsSpan(used, _buffered - used).CopyTo(_buffer);
        _buffered -= used;
        return !IsClosed;
    }

    /// <summary>WebSocket: one complete binary message (RFC 8323 §4.2: it is one CoAP message). False once closed.</summary>
    public bool OnMessage(ReadOnlySpan<byte> message)
    {
        if (IsClosed)
        {
            return false;
        }
        if (message.Length > _maxReceive)
        {
            Abort("too_large", $"message of {message.Length} bytes exceeds the Max-Message-Size {_maxReceive}");
            return false;
        }
        OnFrame(message);
        return !IsClosed;
    }

    /// <summary>
    /// A datagram from the message layer for this peer (its send delegate). False when it could not be queued
    /// (connection closed, queue full, larger than the peer's Max-Message-Size).
    /// </summary>
    public bool Send(ReadOnlySpan<byte> datagram)
    {
        if (IsClosed || !CoapParser.TryReadHeader(datagram, out var type, out var messageId))
        {
            return false;
        }
        if (datagram[1] == 0)
        {
            if (type == CoapMessageType.Reset)
            {
                // The layer rejects a message it cannot parse with RST (RFC 7252 §4.2); TCP has none: §5.6 Abort.
                Abort("malformed", "message format error");
            }
            return true; // an empty ACK: the transport's reliability already acknowledged (RFC 8323 §2.2)
        }
        var length = CoapFraming.FrameLength(datagram, _kind);
        if (length < 0 || length > PeerMaxMessageSize)
        {
            return false;
        }
        var frame = new byte[length];
        CoapFraming.TryFromDatagram(datagram, _kind, frame, out _);
        if (type != CoapMessageType.Confirmable)
        {
            return _host.Write(frame, -1);
        }
        lock (_gate)
        {
            if (!_queuedConfirmables.Add(messageId))
            {
                return true; // a retransmission of one not yet written: it goes once
            }
        }
        if (!_host.Write(frame, messageId))
        {
            lock (_gate)
            {
                _queuedConfirmables.Remove(messageId);
            }
            return false;
        }
        return true;
    }

    /// <summary>The host wrote the frame queued with <paramref name="acknowledge"/>: the message layer gets its ACK.</summary>
    public void OnWritten(int acknowledge)
    {
        lock (_gate)
        {
            if (!_queuedConfirmables.Remove((ushort)acknowledge))
            {
                return;
            }
        }
        byte[] ack = [0x60, 0, (byte)(acknowledge >> 8), (byte)acknowledge]; // RFC 7252 §3: Ver 1, ACK, Empty
        _host.Deliver(ack);
    }

    /// <summary>§5.5: this side will close (the gateway stopping): tells the peer, then closes.</summary>
    public void Release(string diagnostic)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        CloseReason = "released";
        CloseDetail = diagnostic;
        _host.Write(Frame(CoapSignaling.Release(diagnostic)), -1);
        _host.Close(CloseReason);
    }

    /// <summary>§5.6: aborts the connection with <paramref name="detail"/> as diagnostic (sent to the peer).</summary>
    public void Abort(string reason, string detail, int? badCsmOption = null)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        CloseReason = reason;
        CloseDetail = detail;
        _host.Write(Frame(CoapSignaling.Abort(detail, badCsmOption)), -1);
        _host.Close(reason);
    }

    /// <summary>The transport closed under the connection (peer gone, read error): no frame is sent.</summary>
    public void Closed(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            CloseReason = reason;
        }
    }

    /// <summary>Processes the complete frames at the start of <paramref name="bytes"/>; returns the bytes used, −1 when aborted.</summary>
    private int ProcessFrames(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (!IsClosed)
        {
            switch (CoapFraming.TryReadFrame(bytes[offset..], _maxReceive, out var length))
            {
                case FrameStatus.Complete:
                    OnFrame(bytes.Slice(offset, length));
                    offset += length;
                    continue;
                case FrameStatus.NeedMore:
                    return offset;
                case FrameStatus.TooLarge:
                    Abort("too_large", $"message exceeds the Max-Message-Size {_maxReceive}");
                    return -1;
                default:
                    Abort("malformed", "token length 9-15 (message format error)");
                    return -1;
            }
        }
        return -1;
    }

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }
        if (_buffer.Length < _buffered + bytes.Length)
        {
            // At most one frame (≤ _maxReceive) plus one read's worth is ever kept.
            Array.Resize(ref _buffer, Math.Max(_buffered + bytes.Length, Math.Min(_maxReceive + 16, Math.Max(256, _buffer.Length * 2))));
        }
        bytes.CopyTo(_buffer.AsSpan(_buffered));
        _buffered += bytes.Length;
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        var length = CoapFraming.DatagramLength(frame, _kind);
        if (length < 0 || CoapFraming.CodeOf(frame, _kind) is not { } code)
        {
            Abort("malformed", "message format error");
            return;
        }
        var signal = CoapSignalCode.IsSignal(code);
        // Requests are Confirmable to the message layer (it answers them with a piggybacked ACK); anything else is
        // Non-confirmable, so what it does not expect (a response: this side sends no requests) is dropped, not RST.
        var type = code.IsRequest ? CoapMessageType.Confirmable : CoapMessageType.NonConfirmable;
        var messageId = code.IsRequest ? _nextRequestId++ : (ushort)0;
        // One buffer per connection, reused: frames are received one at a time and delivered synchronously.
        if (_datagram.Length < length)
        {
            _datagram = new byte[Math.Max(length, 256)];
        }
        var datagram = _datagram.AsMemory(0, length);
        CoapFraming.TryToDatagram(frame, _kind, type, messageId, datagram.Span, out _);
        if (signal)
        {
            OnSignal(datagram.Span);
            return;
        }
        if (!_peerCsmSeen)
        {
            Abort("no_csm", "the first message must be a CSM (RFC 8323 §5.3)");
            return;
        }
        if (code.IsEmpty)
        {
            return; // §3.3: Empty messages may always be sent and are ignored (a keep-alive)
        }
        _host.Deliver(datagram);
    }

    private void OnSignal(ReadOnlySpan<byte> datagram)
    {
        var copy = datagram.ToArray();
        if (CoapSignaling.TryParse(copy, out var signal) != CoapParseError.None)
        {
            Abort("malformed", "malformed signaling message");
            return;
        }
        if (signal.Code == CoapSignalCode.Csm)
        {
            if (signal.UnknownCriticalOption is { } bad)
            {
                Abort("bad_csm", $"unsupported critical CSM option {bad}", bad);
                return;
            }
            _peerCsmSeen = true;
            if (signal.MaxMessageSize is { } max)
            {
                PeerMaxMessageSize = (int)Math.Min(max, int.MaxValue);
            }
            PeerBlockWiseTransfer |= signal.BlockWiseTransfer;
            return;
        }
        if (!_peerCsmSeen)
        {
            Abort("no_csm", "the first message must be a CSM (RFC 8323 §5.3)");
            return;
        }
        if (signal.UnknownCriticalOption is { } unknown)
        {
            Abort("malformed", $"unsupported critical option {unknown} in signal {signal.Code}");
            return;
        }
        if (signal.Code == CoapSignalCode.Ping)
        {
            WriteFrame(CoapSignaling.Pong(signal.Token), acknowledge: -1);
        }
        else if (signal.Code == CoapSignalCode.Release || signal.Code == CoapSignalCode.Abort)
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                CloseReason = signal.Code == CoapSignalCode.Release ? "peer_release" : "peer_abort";
                CloseDetail = signal.Diagnostic;
                _host.Close(CloseReason);
            }
        }
        // Pong and unknown signals (§5.1 leaves them to the receiver's discretion): nothing to do.
    }

    private bool WriteFrame(byte[] datagram, int acknowledge) => _host.Write(Frame(datagram), acknowledge);

    private byte[] Frame(ReadOnlySpan<byte> datagram)
    {
        var frame = new byte[CoapFraming.FrameLength(datagram, _kind)];
        CoapFraming.TryFromDatagram(datagram, _kind, frame, out _);
        return frame;
    }
}
