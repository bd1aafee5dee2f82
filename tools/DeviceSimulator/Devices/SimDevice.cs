using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NHub.Coap;
using NHub.DeviceSimulator.Api;
using NHub.DeviceSimulator.Dtls;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.DeviceSimulator.Devices;

/// <summary>
/// One simulated device: its own UDP socket (the server tells peers apart by address), optionally a DTLS 1.2 PSK
/// session on it, one confirmable request at a time (RFC 7252 §4.7, NSTART = 1) and at most one Observe relation.
/// A single async receive loop per device handles responses, separate responses (ACKed, §5.2.2) and notifications
/// (ACKed when confirmable, RFC 7641 §4.5). BouncyCastle runs the DTLS handshake; the session's records are then sealed
/// and opened by <see cref="ClientRecordLayer"/> (the gateway's record cipher, client side) on that loop, so no thread
/// is held by a device once its handshake is done. <see cref="Rebind"/> moves the device to a fresh
/// socket (a new source port, as after a NAT rebinding) while its DTLS session carries on.
/// </summary>
internal sealed partial class SimDevice : IDisposable
{
    public const int DatagramLimit = 1500;
    /// <summary>BouncyCastle with its elliptic-curve work on .NET (the gateway's own, linked): a cheap certificate client.</summary>
    private static readonly BcTlsCrypto Crypto = new NHub.Gateway.Transport.Dtls.DotNetEcTlsCrypto();
    private static readonly byte[] ObserveToken = [0x0b, 0x5e];

    private readonly IPEndPoint _server;
    private readonly IPAddress _bind;
    private readonly LinkCounters _counters;
    private volatile Socket _socket;
    private readonly object _gate = new(); // guards the record layer (its sequence numbers; encrypt and decrypt never run at once)
    private byte[] _tx = []; // the last request as sent (for RetransmitAsync), sized to it: most devices send small ones
    private readonly byte[] _tokenBytes = new byte[4];
    private readonly CoapMessage _out = new();
    private readonly CoapMessage _in = new();
    private ClientRecordLayer? _records;
    private volatile bool _closed;
    private int _txLength;
    private ushort _messageId = (ushort)Random.Shared.Next(0, 65536);
    private uint _token = (uint)Random.Shared.Next();

    private TaskCompletionSource<Reply>? _pending;
    private long _pendingStarted;
    private uint _pendingToken;
    private int _pendingTokenLength;
    private ushort _pendingMessageId;
    private bool _pendingKeep;

    public SimDevice(DeviceCredential credential, IPEndPoint server, IPAddress bind, LinkCounters counters)
    {
        Credential = credential;
        _server = server;
        _bind = bind;
        _counters = counters;
        _socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
    }

    public DeviceCredential Credential { get; }

    /// <summary>The <c>id=</c> query of its telemetry, made once.</summary>
    private string IdQuery => _idQuery ??= "id=" + Credential.DeviceId;

    private string? _idQuery;

    /// <summary>The local address the socket binds to (a replacement device for the same meter binds there too).</summary>
    public IPAddress BindAddress => _bind;

    public string DeviceId => Credential.DeviceId;

    /// <summary>
    /// The RFC 9146 connection_id extension to offer in the handshake (null: none; empty: "give me yours"). Without a
    /// CID from the server, a rebound device's records come from an address the server does not know.
    /// </summary>
    public byte[]? OfferedConnectionId { get; init; }

    /// <summary>The CID the server gave this device's session (null: none, or not a DTLS device).</summary>
    public byte[]? ServerConnectionId { get; private set; }

    public bool IsClosed => _closed;

    /// <summary>Called on the receive loop for a response that matches no request waiting (answers to <see cref="SendOnly"/>).</summary>
    public Action<CoapCode>? UnmatchedResponse { get; set; }

    /// <summary>Sends the message built by <see cref="NewRequest"/> without waiting for an answer (open-loop NON traffic).</summary>
    public bool SendOnly() => TryWriteRequest(out var length) && TrySend(_tx.AsSpan(0, length));

    /// <summary>
    /// Serializes <c>_out</c> into <c>_tx</c>, which grows to the largest request this device sent (sized by
    /// <see cref="CoapSerializer.GetLength"/>); false for a request over <see cref="DatagramLimit"/>.
    /// </summary>
    private bool TryWriteRequest(out int length)
    {
        var needed = CoapSerializer.GetLength(_out);
        if (needed > DatagramLimit)
        {
            length = 0;
            return false;
        }
        if (_tx.Length < needed)
        {
            _tx = new byte[Math.Max(needed, 64)];
        }
        return CoapSerializer.TryWrite(_out, _tx, out length);
    }

    /// <summary>Called on the receive loop for every notification of the Observe relation (the message is valid only during the call).</summary>
    public Action<SimDevice, CoapMessage>? NotificationReceived { get; set; }

    /// <summary>Binds the socket (own port on the configured loopback/local address) and connects it to the server.</summary>
    public void Open()
    {
        _socket.Bind(new IPEndPoint(_bind, 0));
        _socket.Connect(_server);
    }

    /// <summary>The full DTLS handshake (RFC 6347 §4.2, with the cookie exchange), blocking the calling thread until it is done.</summary>
    public void Handshake(int[] suites, int timeoutMillis)
    {
        var channel = new DeviceDtlsChannel(_socket, DatagramLimit);
        ClientRecordLayer? records;
        byte[]? serverCid;
        if (Certificate is { } certificate)
        {
            var client = new SimCertificateClient(Crypto, certificate, suites, timeoutMillis, OfferedConnectionId, ResumeSession);
            new DtlsClientProtocol().Connect(client, channel);
            serverCid = client.ServerConnectionId;
            records = client.RecordLayer;
            TlsSession = client.Session;
            Resumed = client.Resumed;
        }
        else
        {
            var client = new SimPskClient(Crypto, Credential.PskIdentity ?? throw new InvalidOperationException($"device {DeviceId} has no PSK identity"),
                Credential.KeyBytes(), suites, timeoutMillis, OfferedConnectionId);
            new DtlsClientProtocol().Connect(client, channel);
            serverCid = client.ServerConnectionId;
            records = client.RecordLayer;
        }
        // BouncyCastle's transport is dropped here: from now on records are ours (see ClientRecordLayer).
        lock (_gate)
        {
            _records = records ?? throw new TlsFatalAlert(AlertDescription.internal_error, "handshake completed without a record layer");
            ServerConnectionId = serverCid;
        }
    }

    /// <summary>Authenticate with this certificate instead of the credential's PSK (--certificate).</summary>
    public SimClientCertificate? Certificate { get; init; }

    /// <summary>A session of an earlier handshake to offer for resumption (--resume on).</summary>
    public TlsSession? ResumeSession { get; init; }

    /// <summary>This device's DTLS session as BouncyCastle keeps it for resumption (certificate devices), and whether the handshake resumed one.</summary>
    public TlsSession? TlsSession { get; private set; }

    public bool Resumed { get; private set; }

    /// <summary>
    /// A NAT rebinding: a new socket on a new source port (same local address) takes over, the old one is closed, so
    /// anything the server still sends to the old port is lost, as behind a carrier NAT whose binding expired. The
    /// DTLS session (keys, sequence numbers, CID) is untouched. Call it between requests. False when the device is
    /// closed or no new socket could be had.
    /// </summary>
    public bool Rebind()
    {
        var next = new Socket(_server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            next.Bind(new IPEndPoint(_bind, 0));
            next.Connect(_server);
        }
        catch (SocketException)
        {
            next.Dispose();
            return false;
        }
        Socket previous;
        lock (_gate)
        {
            if (_closed)
            {
                next.Dispose();
                return false;
            }
            previous = _socket;
            _socket = next;
        }
        previous.Dispose(); // ends the receive loop's wait on it; the loop carries on with the new socket
        return true;
    }

    /// <summary>Starts the receive loop (after <see cref="Open"/>, and after <see cref="Handshake"/> for DTLS).</summary>
    public void StartReceiving() => _ = ReceiveLoopAsync();

    /// <summary>The request message to fill in: CON, a fresh message id and token, no options yet.</summary>
    public CoapMessage NewRequest(CoapCode code)
    {
        _out.Clear();
        _out.Type = CoapMessageType.Confirmable;
        _out.Code = code;
        _out.MessageId = _messageId++;
        var t = _token++;
        _tokenBytes[0] = (byte)(t >> 24);
        _tokenBytes[1] = (byte)(t >> 16);
        _tokenBytes[2] = (byte)(t >> 8);
        _tokenBytes[3] = (byte)t;
        _out.Token = _tokenBytes;
        return _out;
    }

    /// <summary>
    /// A CoAP ping: an empty confirmable message (code 0.00, no token, no options, RFC 7252 §4.3), which the server
    /// answers with a Reset of the same Message ID. Sent with <see cref="SendAsync"/>; the reply is <see cref="ReplyStatus.Reset"/>.
    /// </summary>
    public CoapMessage NewPing()
    {
        _out.Clear();
        _out.Type = CoapMessageType.Confirmable;
        _out.Code = CoapCode.Empty;
        _out.MessageId = _messageId++;
        _out.Token = ReadOnlyMemory<byte>.Empty;
        return _out;
    }

    /// <summary>
    /// The guide's telemetry request, built on <see cref="NewRequest"/>: POST <paramref name="path"/>?id=&lt;device&gt;
    /// with a JSON body (Content-Format 50).
    /// </summary>
    public CoapMessage NewTelemetryRequest(string path, ReadOnlyMemory<byte> payload)
    {
        var request = NewRequest(CoapCode.Post);
        request.SetUriPath(path);
        request.AddQuery(IdQuery);
        request.ContentFormat = ContentFormats.Json;
        request.Payload = payload;
        return request;
    }

    /// <summary>A GET with Observe: 0 on <paramref name="path"/> (RFC 7641 §3.1), with the relation's own token.</summary>
    public CoapMessage NewObserveRequest(string path)
    {
        var request = NewRequest(CoapCode.Get);
        request.Token = ObserveToken;
        request.SetUriPath(path);
        request.Observe = 0;
        request.Accept = ContentFormats.Json;
        return request;
    }

    /// <summary>
    /// Sends the message built by <see cref="NewRequest"/> and completes when its response arrives or the timeout
    /// sweeper gives up. With <paramref name="keepMessage"/> the reply carries a copy of the response.
    /// </summary>
    public Task<Reply> SendAsync(bool keepMessage = false)
    {
        if (_closed)
        {
            return Task.FromResult(new Reply(ReplyStatus.Failed, default, null, "session_closed"));
        }
        if (!TryWriteRequest(out var length))
        {
            return Task.FromResult(new Reply(ReplyStatus.Failed, default, null, "request_too_large"));
        }
        // Continuations run inline on whichever thread completes the request (the receive loop): one thread hop
        // less per request, which matters when the generator shares the cores with the server.
        _txLength = length;
        var tcs = new TaskCompletionSource<Reply>();
        var token = _out.Token.Span;
        _pendingTokenLength = token.Length;
        _pendingToken = TokenValue(token);
        _pendingMessageId = _out.MessageId;
        _pendingKeep = keepMessage;
        _pendingStarted = Stopwatch.GetTimestamp();
        Volatile.Write(ref _pending, tcs);
        if (!TrySend(_tx.AsSpan(0, length)))
        {
            Complete(tcs, new Reply(ReplyStatus.Failed, default, null, _closed ? "session_closed" : "send_error"));
        }
        return tcs.Task;
    }

    /// <summary>
    /// Sends the last request again, byte for byte: the same Message ID and token, as a CoAP retransmission of a
    /// confirmable message whose ACK did not come (RFC 7252 §4.2). The server answers it from its de-duplication
    /// state if it saw the first copy.
    /// </summary>
    public Task<Reply> RetransmitAsync()
    {
        if (_closed || _txLength == 0)
        {
            return Task.FromResult(new Reply(ReplyStatus.Failed, default, null, "session_closed"));
        }
        var tcs = new TaskCompletionSource<Reply>();
        _pendingStarted = Stopwatch.GetTimestamp();
        Volatile.Write(ref _pending, tcs);
        if (!TrySend(_tx.AsSpan(0, _txLength)))
        {
            Complete(tcs, new Reply(ReplyStatus.Failed, default, null, _closed ? "session_closed" : "send_error"));
        }
        return tcs.Task;
    }

    /// <summary>Fails the pending request when it is older than <paramref name="timeoutTicks"/> (called by one sweeper for all devices).</summary>
    public void CheckTimeout(long now, long timeoutTicks)
    {
        if (Volatile.Read(ref _pending) is { } pending && now - Volatile.Read(ref _pendingStarted) > timeoutTicks)
        {
            Complete(pending, new Reply(ReplyStatus.Timeout, default));
        }
    }

    /// <summary>Ends the device: with <paramref name="notify"/> a DTLS close_notify is sent first (RFC 5246 §7.2.1).</summary>
    public void Close(bool notify)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            if (notify && _records is { } records)
            {
                try
                {
                    Span<byte> record = stackalloc byte[records.RecordLength(2)];
                    _socket.Send(record[..records.SealCloseNotify(record)]);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // already gone
                }
            }
            _records?.Dispose();
        }
        _socket.Dispose();
        if (Volatile.Read(ref _pending) is { } pending)
        {
            Complete(pending, new Reply(ReplyStatus.Failed, default, null, "session_closed"));
        }
    }

    public void Dispose() => Close(notify: false);

    private bool Complete(TaskCompletionSource<Reply> pending, Reply reply)
    {
        if (Interlocked.CompareExchange(ref _pending, null, pending) != pending)
        {
            return false;
        }
        pending.SetResult(reply);
        return true;
    }

    private static uint TokenValue(ReadOnlySpan<byte> token)
    {
        uint v = 0;
        foreach (var b in token)
        {
            v = (v << 8) | b;
        }
        return v;
    }
}
