using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// One peer on the shared socket. During the handshake it is BouncyCastle's <see cref="DatagramTransport"/>: inbound
/// datagrams are queued here by the receive loop and Receive waits for them like a socket would, on a handshake
/// thread. Once the session is established BouncyCastle is done with it: the session's own record layer
/// (<see cref="SessionRecordLayer"/>) opens records on the receive loop, and this channel only sends, to wherever the
/// session is (<see cref="Retarget"/>).
/// </summary>
internal sealed class PeerDatagramChannel : DatagramTransport
{
    private readonly Socket _socket;
    private volatile SocketAddress _remote;
    private readonly int _datagramLimit;
    private readonly int _capacity;
    private readonly DtlsMetrics _metrics;
    private Queue<(byte[] Buffer, int Length)>? _queue; // made by the first datagram queued, dropped once drained after the handshake
    private readonly object _gate = new(); // Monitor, not Lock: the handshake waits on it
    private bool _blocking = true;
    private bool _closed;
    private volatile bool _muted;
    private FinishedWatch _finished; // the handshake thread's only (Receive and Send while blocking)
    private byte[]? _flight; // the handshake's outbound records not yet sent (pooled), under _gate
    private int _flightLength;

    public PeerDatagramChannel(Socket socket, SocketAddress remote, int datagramLimit, int capacity, DtlsMetrics metrics)
    {
        _socket = socket;
        _remote = remote;
        _datagramLimit = datagramLimit;
        _capacity = capacity;
        _metrics = metrics;
    }

    /// <summary>Closed by BouncyCastle (close_notify received or sent, fatal alert) or by the gateway.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>Copies <paramref name="datagram"/> into a pooled buffer and queues it; false when full or closed.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> datagram)
    {
        lock (_gate)
        {
            if (_closed || _queue?.Count >= _capacity)
            {
                return false;
            }
            _queue ??= new Queue<(byte[] Buffer, int Length)>();
            var buffer = ArrayPool<byte>.Shared.Rent(datagram.Length);
            datagram.CopyTo(buffer);
            _queue.Enqueue((buffer, datagram.Length));
            if (_blocking)
            {
                Monitor.PulseAll(_gate);
            }
            return true;
        }
    }

    /// <summary>The handshake is over: from now on Receive never waits, and the flight still packed leaves now.</summary>
    public void StopBlocking()
    {
        lock (_gate)
        {
            _blocking = false;
            ReleaseFlightLocked();
        }
    }

    /// <summary>
    /// A copy of the flight packed but not sent yet: once BouncyCastle's Accept returned, the server's last flight
    /// (ChangeCipherSpec, Finished), which the session re-sends if the client did not get it (RFC 6347 §4.2.4).
    /// </summary>
    public byte[]? PendingFlight()
    {
        lock (_gate)
        {
            return _flightLength > 0 ? _flight.AsSpan(0, _flightLength).ToArray() : null;
        }
    }

    /// <summary>
    /// Takes the oldest queued datagram (those that arrived before the session was established) into
    /// <paramref name="buffer"/>. Once the handshake is over and the queue drained, the queue itself goes: an
    /// established session never queues again, and a million of them would otherwise keep an empty one each.
    /// </summary>
    public bool TryDequeue(Span<byte> buffer, out int length)
    {
        lock (_gate)
        {
            if (_queue is null || !_queue.TryDequeue(out var item))
            {
                if (!_blocking)
                {
                    _queue = null;
                }
                length = 0;
                return false;
            }
            length = Math.Min(item.Length, buffer.Length);
            item.Buffer.AsSpan(0, length).CopyTo(buffer);
            ArrayPool<byte>.Shared.Return(item.Buffer);
            return true;
        }
    }

    /// <summary>
    /// Set when the handshake was ended because the client's Finished failed authentication (see
    /// <see cref="FinishedWatch"/>): almost always a wrong PSK.
    /// </summary>
    public bool FinishedRejected { get; private set; }

    /// <summary>The session moved (RFC 9146 §6): every later send goes to <paramref name="remote"/> (an owned, never-mutated copy).</summary>
    public void Retarget(SocketAddress remote) => _remote = remote;

    /// <summary>Drops every later send, including BouncyCastle's close_notify (the peer is gone or restarted).</summary>
    public void Mute() => _muted = true;

    public int GetReceiveLimit() => _datagramLimit;

    public int GetSendLimit() => _datagramLimit;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    /// <remarks>BouncyCastle's contract: <paramref name="waitMillis"/> 0 waits forever; -1 means nothing arrived in time.</remarks>
    public int Receive(Span<byte> buffer, int waitMillis)
    {
        lock (_gate)
        {
            if (_blocking)
            {
                // BouncyCastle reads once its flight is written: that flight leaves now, packed.
                FlushFlightLocked();
            }
            if (_blocking && _finished.Unanswered)
            {
                // RFC 6347 §4.1.2.7: a DTLS implementation that answers an invalid MAC must send a fatal
                // bad_record_mac (RFC 5246 §7.2.2) and end the connection. BouncyCastle sends it (at epoch 0, which
                // the client can still read) when this alert leaves Receive, and frees the handshake thread.
                FinishedRejected = true;
                throw new TlsFatalAlert(AlertDescription.bad_record_mac, "the client's Finished failed authentication (wrong PSK?)");
            }
            if (_queue is not { Count: > 0 })
            {
                if (_closed)
                {
                    // Ends a blocked handshake at once, and stops BouncyCastle's record loop after close_notify
                    // without spinning until its wait expires.
                    throw new IOException("DTLS peer channel closed");
                }
                if (!_blocking)
                {
                    return -1;
                }
                if (!WaitForDatagram(waitMillis))
                {
                    return -1;
                }
            }
            var (datagram, length) = _queue!.Dequeue();
            if (_blocking)
            {
                _finished.OnServed(datagram.AsSpan(0, length));
            }
            var copied = Math.Min(length, buffer.Length);
            datagram.AsSpan(0, copied).CopyTo(buffer);
            ArrayPool<byte>.Shared.Return(datagram);
            return copied;
        }
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    /// <remarks>
    /// During the handshake the records of one flight are packed into as few datagrams as fit (RFC 6347 §4.1.1:
    /// several records may share a datagram; every DTLS stack reads them). BouncyCastle writes one record per call
    /// (ServerHello, ServerHelloDone; ChangeCipherSpec, Finished), so this halves the server's datagrams per
    /// handshake and the client's receives. The flight leaves when BouncyCastle next reads, when the handshake
    /// ends, or when the next record would not fit.
    /// </remarks>
    public void Send(ReadOnlySpan<byte> buffer)
    {
        _finished.OnSent();
        if (_muted)
        {
            return;
        }
        lock (_gate)
        {
            if (_blocking && !_closed && buffer.Length <= _datagramLimit)
            {
                if (_flightLength + buffer.Length > _datagramLimit)
                {
                    FlushFlightLocked();
                }
                _flight ??= ArrayPool<byte>.Shared.Rent(_datagramLimit);
                buffer.CopyTo(_flight.AsSpan(_flightLength));
                _flightLength += buffer.Length;
                return;
            }
        }
        SendNow(buffer);
    }

    private void FlushFlightLocked()
    {
        if (_flightLength > 0)
        {
            SendNow(_flight.AsSpan(0, _flightLength));
            _flightLength = 0;
        }
    }

    private void ReleaseFlightLocked()
    {
        FlushFlightLocked();
        if (_flight is not null)
        {
            ArrayPool<byte>.Shared.Return(_flight);
            _flight = null;
        }
    }

    private void SendNow(ReadOnlySpan<byte> datagram)
    {
        if (_muted)
        {
            return;
        }
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, _remote);
            _metrics.Datagrams.Sent.Add(1);
        }
        catch (SocketException)
        {
            // UDP: a failed send is a lost datagram, which DTLS and CoAP already survive. Never fail the session.
            _metrics.DatagramDropped("send_error");
        }
        catch (ObjectDisposedException)
        {
            // socket closed while stopping
        }
    }

    /// <summary>Called by BouncyCastle when the session ends, and by the gateway. Releases queued buffers, wakes a waiting handshake.</summary>
    public void Close()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            // BouncyCastle closes after writing its last alert (close_notify, or a fatal one ending a handshake).
            ReleaseFlightLocked();
            _closed = true;
            while (_queue is not null && _queue.TryDequeue(out var item))
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }
            _queue = null;
            Monitor.PulseAll(_gate);
        }
    }

    private bool WaitForDatagram(int waitMillis)
    {
        var deadline = waitMillis == 0 ? long.MaxValue : Environment.TickCount64 + waitMillis;
        while (_queue is not { Count: > 0 })
        {
            if (_closed)
            {
                throw new IOException("DTLS peer channel closed");
            }
            var remaining = deadline == long.MaxValue ? System.Threading.Timeout.Infinite : deadline - Environment.TickCount64;
            if (deadline != long.MaxValue && remaining <= 0)
            {
                return false;
            }
            Monitor.Wait(_gate, (int)Math.Min(remaining, int.MaxValue));
        }
        return true;
    }
}
