using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>
/// BouncyCastle's <see cref="DatagramTransport"/> over one device's connected UDP socket, in two modes.
/// During the handshake (on a handshake-pool thread) Receive blocks on the socket like BouncyCastle expects.
/// Once established it never blocks: the device's async receive loop stages the datagram it received and runs
/// BouncyCastle's Receive synchronously ("pumping"), so an idle session holds no thread — 100k sessions need
/// 100k sockets, not 100k threads. <see cref="Replace"/> moves the channel to another socket (a NAT rebinding: a
/// new source port) under the same DTLS session.
/// </summary>
internal sealed class DeviceDtlsChannel(Socket socket, int datagramLimit) : DatagramTransport
{
    private volatile Socket _socket = socket;
    private byte[]? _staged;
    private int _stagedLength;
    private bool _servedThisPump;
    private bool _pumping;

    /// <summary>Datagrams BouncyCastle handed to the socket (handshake flights and records).</summary>
    public long Sent { get; private set; }

    /// <summary>From now on records leave through <paramref name="next"/>; the session's keys and sequence numbers stay as they are.</summary>
    public void Replace(Socket next) => _socket = next;

    public int GetReceiveLimit() => datagramLimit;

    public int GetSendLimit() => datagramLimit;

    /// <summary>The handshake is over: from now on Receive only hands out what <see cref="Stage"/> put there.</summary>
    public void StartPumping() => _pumping = true;

    /// <summary>Before a pumped Receive: the datagram BouncyCastle will be given (the caller keeps the buffer until the pump returns).</summary>
    public void Stage(byte[] datagram, int length)
    {
        _staged = datagram;
        _stagedLength = length;
        _servedThisPump = false;
    }

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    /// <remarks>BouncyCastle's contract: <paramref name="waitMillis"/> 0 waits forever; -1 means nothing arrived in time.</remarks>
    public int Receive(Span<byte> buffer, int waitMillis)
    {
        if (_pumping)
        {
            if (_staged is { } staged)
            {
                _staged = null;
                _servedThisPump = true;
                var n = Math.Min(_stagedLength, buffer.Length);
                staged.AsSpan(0, n).CopyTo(buffer);
                return n;
            }
            if (_servedThisPump)
            {
                throw new PumpDrained();
            }
            return -1;
        }
        try
        {
            var current = _socket;
            if (!current.Poll(waitMillis == 0 ? -1 : waitMillis * 1000, SelectMode.SelectRead))
            {
                return -1;
            }
            return current.Receive(buffer);
        }
        catch (SocketException ex)
        {
            // ICMP port unreachable and friends: the server is not there.
            throw new IOException("socket: " + ex.SocketErrorCode, ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException("socket closed", ex);
        }
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        try
        {
            _socket.Send(buffer);
            Sent++;
        }
        catch (SocketException)
        {
            // UDP: a failed send is a lost datagram; DTLS retransmits handshake flights, CoAP reports a timeout.
        }
        catch (ObjectDisposedException)
        {
            // closing
        }
    }

    public void Close()
    {
    }
}
