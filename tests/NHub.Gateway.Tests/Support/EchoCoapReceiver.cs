using System.Collections.Concurrent;
using NHub.Gateway.Transport;

namespace NHub.Gateway.Tests.Support;

/// <summary>
/// Stands in for the CoAP stack: answers every CON request with a piggybacked ACK built by hand (RFC 7252 §3:
/// Ver=1, T=ACK, same token and Message ID, code 2.05, payload "ok:" + the request payload), and records sessions.
/// </summary>
public sealed class EchoCoapReceiver : IDatagramReceiver
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource<PeerInfo>> _closed = new();
    private readonly ConcurrentDictionary<long, PeerInfo> _peers = new();

    public IDatagramTransport? Transport { get; set; }

    /// <summary>Sessions open now (seen in OnDatagram, not yet closed).</summary>
    public IReadOnlyCollection<PeerInfo> Peers => [.. _peers.Values];

    /// <summary>Every session that delivered a datagram, open or closed since.</summary>
    public IReadOnlyCollection<PeerInfo> SeenPeers => [.. _seen.Values];

    private readonly ConcurrentDictionary<long, PeerInfo> _seen = new();

    public int Datagrams => Volatile.Read(ref _datagrams);

    private int _datagrams;

    public Task<PeerInfo> Closed(PeerInfo peer) => ClosedSignal(peer.SessionId).Task;

    /// <summary>
    /// Whether the echo answers on the transport's receive loop, as the CoAP stack does for ACKs, duplicates and inline
    /// resources (true, the default), or declines there so the transport hands the datagram to the thread pool, as it
    /// does for a request with an asynchronous handler.
    /// </summary>
    public bool AnswerInline { get; set; } = true;

    /// <summary>When set, <see cref="OnDatagram"/> waits on it first: a handler held up by its backend.</summary>
    public ManualResetEventSlim? Gate { get; set; }

    /// <summary>The thread each <see cref="OnDatagram"/> ran on, in call order.</summary>
    public IReadOnlyCollection<Thread> Threads => [.. _threads];

    private readonly ConcurrentQueue<Thread> _threads = new();

    public bool TryReceiveInline(PeerInfo peer, ReadOnlyMemory<byte> payload)
    {
        if (!AnswerInline)
        {
            return false;
        }
        OnDatagram(peer, payload.Span);
        return true;
    }

    public void OnDatagram(PeerInfo peer, ReadOnlySpan<byte> payload)
    {
        _threads.Enqueue(Thread.CurrentThread);
        Gate?.Wait(TimeSpan.FromSeconds(30));
        Interlocked.Increment(ref _datagrams);
        _peers[peer.SessionId] = peer;
        _seen[peer.SessionId] = peer;
        if (payload.Length < 4 || (payload[0] >> 6) != 1)
        {
            return;
        }
        var tokenLength = payload[0] & 0x0F;
        if (payload.Length < 4 + tokenLength)
        {
            return;
        }
        var body = Body(payload, 4 + tokenLength);
        Span<byte> ack = stackalloc byte[4 + tokenLength + 1 + 3 + body.Length];
        ack[0] = (byte)(0x60 | tokenLength);   // Ver 1, Type 2 (ACK), TKL
        ack[1] = 0x45;                          // 2.05 Content
        ack[2] = payload[2];                    // Message ID
        ack[3] = payload[3];
        payload.Slice(4, tokenLength).CopyTo(ack[4..]);
        var at = 4 + tokenLength;
        ack[at++] = 0xFF;
        "ok:"u8.CopyTo(ack[at..]);
        body.CopyTo(ack[(at + 3)..]);
        Transport?.TrySend(peer, ack);
    }

    /// <summary>
    /// The payload after the options (RFC 7252 §3.1: each option starts with a delta/length byte whose nibbles 13 and
    /// 14 take one or two extension bytes; 0xFF in that place is the payload marker). A token or an option value may
    /// itself hold 0xFF, so the marker is found by walking the options, not by searching for the byte.
    /// </summary>
    private static ReadOnlySpan<byte> Body(ReadOnlySpan<byte> message, int at)
    {
        while (at < message.Length)
        {
            var header = message[at++];
            if (header == 0xFF)
            {
                return message[at..];
            }
            at += ExtensionLength(header >> 4);
            var length = header & 0x0F;
            if (length >= 13 && at + ExtensionLength(length) > message.Length)
            {
                return [];
            }
            length = length switch
            {
                13 => message[at] + 13,
                14 => (message[at] << 8 | message[at + 1]) + 269,
                _ => length,
            };
            at += ExtensionLength(header & 0x0F) + length;
        }
        return [];
    }

    private static int ExtensionLength(int nibble) => nibble switch { 13 => 1, 14 => 2, _ => 0 };

    /// <summary>OnPeerReachable calls so far (moves and wakes).</summary>
    public int Reachable => Volatile.Read(ref _reachable);

    private int _reachable;

    /// <summary><see cref="Datagrams"/> as of the last OnPeerReachable: whether the waking record was delivered before it.</summary>
    public int DatagramsAtLastReachable => Volatile.Read(ref _datagramsAtReachable);

    private int _datagramsAtReachable;

    /// <summary>Released once per OnPeerReachable: the transport calls it after the datagrams were delivered, so after the echo left.</summary>
    public SemaphoreSlim ReachableSignal { get; } = new(0);

    public void OnPeerReachable(PeerInfo peer)
    {
        Volatile.Write(ref _datagramsAtReachable, Datagrams);
        Interlocked.Increment(ref _reachable);
        ReachableSignal.Release();
    }

    /// <summary>Sessions that ended here but continue elsewhere (taken over, or left in the store at shutdown).</summary>
    public int Moved => Volatile.Read(ref _moved);

    private int _moved;

    public void OnPeerMoved(PeerInfo peer) => Interlocked.Increment(ref _moved);

    public void OnPeerClosed(PeerInfo peer)
    {
        _peers.TryRemove(peer.SessionId, out _);
        ClosedSignal(peer.SessionId).TrySetResult(peer);
    }

    private TaskCompletionSource<PeerInfo> ClosedSignal(long sessionId)
        => _closed.GetOrAdd(sessionId, _ => new TaskCompletionSource<PeerInfo>(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>A CON GET with a 2-byte token and an optional payload.</summary>
    public static byte[] Request(ushort messageId, ReadOnlySpan<byte> payload = default)
    {
        var message = new byte[4 + 2 + (payload.IsEmpty ? 0 : 1 + payload.Length)];
        message[0] = 0x42; // Ver 1, CON, TKL 2
        message[1] = 0x01; // GET
        message[2] = (byte)(messageId >> 8);
        message[3] = (byte)messageId;
        message[4] = 0xAB;
        message[5] = 0xCD;
        if (!payload.IsEmpty)
        {
            message[6] = 0xFF;
            payload.CopyTo(message.AsSpan(7));
        }
        return message;
    }
}
