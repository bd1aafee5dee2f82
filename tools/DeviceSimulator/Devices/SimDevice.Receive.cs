using System.Net.Sockets;
using NHub.Coap;
using NHub.DeviceSimulator.Dtls;
using Org.BouncyCastle.Tls;

namespace NHub.DeviceSimulator.Devices;

/// <summary>The receive loop, DTLS pumping, response matching and sends.</summary>
internal sealed partial class SimDevice
{
    private async Task ReceiveLoopAsync()
    {
        var datagram = new byte[DatagramLimit];
        var plaintext = _session is null ? datagram : new byte[DatagramLimit];
        while (!_closed)
        {
            int received;
            var socket = _socket;
            try
            {
                received = await socket.ReceiveAsync(datagram.AsMemory(), SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException && !_closed && !ReferenceEquals(socket, _socket))
            {
                continue; // Rebind closed this socket: receive on its successor
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (!_closed && ex.SocketErrorCode == SocketError.ConnectionRefused)
            {
                continue; // ICMP port unreachable for an earlier send: the request will time out
            }
            catch (SocketException)
            {
                return;
            }
            if (_session is not { } session)
            {
                OnCoap(datagram, received);
                continue;
            }
            int length;
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }
                _channel!.Stage(datagram, received);
                length = Pump(session, plaintext, pending: false);
            }
            while (length >= 0)
            {
                OnCoap(plaintext, length);
                // More records in the same datagram wait inside BouncyCastle.
                lock (_gate)
                {
                    length = _closed ? -1 : Pump(session, plaintext, pending: true);
                }
            }
            if (length == SessionEnded)
            {
                if (Volatile.Read(ref _pending) is { } pending)
                {
                    Complete(pending, new Reply(ReplyStatus.Failed, default, null, "session_failed"));
                }
                return;
            }
        }
    }

    private const int SessionEnded = -2;

    /// <summary>
    /// Under the lock: one BouncyCastle receive call. Returns the plaintext length, -1 when the record held no
    /// application data, <see cref="SessionEnded"/> when the session failed (fatal alert, close_notify).
    /// </summary>
    private int Pump(Org.BouncyCastle.Tls.DtlsTransport session, byte[] plaintext, bool pending)
    {
        try
        {
            return pending ? session.ReceivePending(plaintext.AsSpan(), null) : session.Receive(plaintext, 0, plaintext.Length, 1);
        }
        catch (PumpDrained)
        {
            return -1;
        }
        catch (Exception ex) when (ex is IOException or TlsException or InvalidOperationException)
        {
            Interlocked.Increment(ref _counters.SessionsFailed);
            _closed = true;
            return SessionEnded;
        }
    }

    private void OnCoap(byte[] buffer, int length)
    {
        var message = _in;
        if (CoapParser.TryParse(buffer.AsMemory(0, length), message) != CoapParseError.None)
        {
            Interlocked.Increment(ref _counters.Malformed);
            return;
        }
        var pending = Volatile.Read(ref _pending);
        if (message.Code.IsEmpty)
        {
            // An empty ACK announces a separate response (§5.2.2); an RST refuses the request (§4.2).
            if (message.Type == CoapMessageType.Reset && pending is not null && message.MessageId == _pendingMessageId)
            {
                Complete(pending, new Reply(ReplyStatus.Reset, default));
            }
            return;
        }
        if (message.Type == CoapMessageType.Confirmable)
        {
            // A separate response or a confirmable notification: acknowledge it (§4.2; RFC 7641 §4.5).
            SendAck(message.MessageId);
        }
        var token = message.Token.Span;
        if (pending is not null && token.Length == _pendingTokenLength && TokenValue(token) == _pendingToken)
        {
            var kept = _pendingKeep ? Copy(buffer, length) : null;
            var code = message.Code;
            if (Complete(pending, new Reply(ReplyStatus.Response, code, kept)))
            {
                return;
            }
        }
        if (token.SequenceEqual(ObserveToken) && message.Observe is not null)
        {
            Interlocked.Increment(ref _counters.Notifications);
            NotificationReceived?.Invoke(this, message);
            return;
        }
        Interlocked.Increment(ref _counters.StrayResponses);
        UnmatchedResponse?.Invoke(message.Code);
    }

    private static CoapMessage Copy(byte[] buffer, int length)
    {
        var owned = new CoapMessage();
        CoapParser.TryParse(buffer.AsSpan(0, length).ToArray(), owned);
        return owned;
    }

    private void SendAck(ushort messageId)
    {
        // Empty ACK (§3): version 1, type ACK (2), token length 0, code 0.00, the message id.
        ReadOnlySpan<byte> ack = [0x60, 0x00, (byte)(messageId >> 8), (byte)messageId];
        if (TrySend(ack))
        {
            Interlocked.Increment(ref _counters.AcksSent);
        }
    }

    private bool TrySend(ReadOnlySpan<byte> datagram)
    {
        try
        {
            if (_session is { } session)
            {
                lock (_gate)
                {
                    if (_closed)
                    {
                        return false;
                    }
                    session.Send(datagram);
                    return true;
                }
            }
            _socket.Send(datagram);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException or TlsException)
        {
            return false;
        }
    }
}
