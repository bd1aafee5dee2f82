using System.Buffers;
using System.Net.Sockets;
using NHub.Coap;
using NHub.DeviceSimulator.Dtls;

namespace NHub.DeviceSimulator.Devices;

/// <summary>The receive loop, DTLS pumping, response matching and sends.</summary>
internal sealed partial class SimDevice
{
    private async Task ReceiveLoopAsync()
    {
        // The one buffer a device keeps while it waits; what a datagram opens into is borrowed for that datagram only
        // (a million idle devices would otherwise hold 1.5 KB each for nothing).
        var datagram = new byte[DatagramLimit];
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
            if (_records is null)
            {
                OnCoap(datagram, received);
                continue;
            }
            if (!OpenRecords(_records, datagram, received))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Every record of one datagram (several may share it, RFC 6347 §4.1.1), opened into a pooled buffer that is
    /// handed back before the next receive (handlers copy what they keep). False when the session ended.
    /// </summary>
    private bool OpenRecords(ClientRecordLayer records, byte[] datagram, int received)
    {
        var plaintext = ArrayPool<byte>.Shared.Rent(DatagramLimit);
        try
        {
            var offset = 0;
            while (true)
            {
                int length;
                lock (_gate)
                {
                    if (_closed)
                    {
                        return false;
                    }
                    length = records.Open(datagram.AsSpan(0, received), ref offset, plaintext);
                }
                if (length == ClientRecordLayer.NoMore)
                {
                    return true;
                }
                if (length == ClientRecordLayer.Ended)
                {
                    SessionEnded();
                    return false;
                }
                if (length >= 0)
                {
                    OnCoap(plaintext, length);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plaintext);
        }
    }

    /// <summary>The server ended the session (close_notify or a fatal alert): the device is done.</summary>
    private void SessionEnded()
    {
        Interlocked.Increment(ref _counters.SessionsFailed);
        lock (_gate)
        {
            _closed = true;
        }
        if (Volatile.Read(ref _pending) is { } pending)
        {
            Complete(pending, new Reply(ReplyStatus.Failed, default, null, "session_failed"));
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
            if (_records is { } records)
            {
                lock (_gate)
                {
                    if (_closed)
                    {
                        return false;
                    }
                    var record = ArrayPool<byte>.Shared.Rent(records.RecordLength(datagram.Length));
                    try
                    {
                        _socket.Send(record.AsSpan(0, records.SealApplicationData(datagram, record)));
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(record);
                    }
                    return true;
                }
            }
            _socket.Send(datagram);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }
}
