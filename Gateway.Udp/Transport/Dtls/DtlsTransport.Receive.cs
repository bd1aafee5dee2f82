using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The receive path up to a peer: the socket loops, each datagram matched to its peer (by address, or by Connection ID),
/// and the stateless cookie exchange for a ClientHello from an address without one. A known peer's records go on to
/// the pump (DtlsTransport.Pump.cs); a verified ClientHello starts a peer (DtlsTransport.SessionLifecycle.cs).
/// </summary>
public sealed partial class DtlsTransport
{
    /// <summary>
    /// A dedicated thread in a blocking receive. Not an async loop: each completion there goes epoll thread, then
    /// thread-pool hop, and the pool's workers spin for more work between datagrams; for one busy UDP socket a
    /// blocking recvfrom on an owned thread costs less CPU per datagram (measured, bench/RESULTS.md).
    /// </summary>
    private void ReceiveLoop(object? state)
    {
        var socket = (Socket)state!;
        var ct = _stop.Token;
        var address = new SocketAddress(socket.AddressFamily);
        // One buffer per loop, reused for every datagram: records are copied into pooled buffers only when queued
        // for a peer. One byte more than the maximum: a datagram that fills it was truncated.
        var buffer = new byte[_options.MaxDatagramSize + 1];
        var plaintext = new byte[_options.MaxDatagramSize];
        var context = new ReceiveContext(address, plaintext, new HelloVerifySender(socket, _options.MaxDatagramSize));
        while (!ct.IsCancellationRequested)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(buffer, SocketFlags.None, address);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (ct.IsCancellationRequested)
                {
                    return; // the socket was closed under the receive
                }
                _metrics.DatagramDropped("socket_error");
                DtlsLog.ReceiveError(_logger, ex.SocketErrorCode);
                continue;
            }
            _metrics.Datagrams.Received.Add(1);
            if (received > _options.MaxDatagramSize)
            {
                _metrics.DatagramDropped("oversize");
                continue;
            }
            try
            {
                OnDatagram(context, buffer.AsSpan(0, received));
            }
            catch (Exception ex)
            {
                // Never let one datagram end the loop.
                _metrics.RecordDropped("internal_error");
                DtlsLog.DatagramError(_logger, ex, ToEndPoint(address));
            }
        }
    }

    /// <summary>Per-loop scratch state: the reused source address, plaintext buffer, cookie sender and client-id buffer.</summary>
    private sealed class ReceiveContext(SocketAddress address, byte[] plaintext, HelloVerifySender hello)
    {
        public SocketAddress Address { get; } = address;
        public byte[] Plaintext { get; } = plaintext;
        public HelloVerifySender Hello { get; } = hello;
        public byte[] ClientId { get; set; } = [];
    }

    private void OnDatagram(ReceiveContext context, ReadOnlySpan<byte> datagram)
    {
        if (!DtlsRecordHeader.TryRead(datagram, out var header, out var isClientHello))
        {
            _metrics.RecordDropped("malformed");
            return;
        }
        if (header.ContentType == DtlsRecordHeader.ConnectionId && _connectionIds.Length > 0)
        {
            OnConnectionIdRecord(context, datagram);
            return;
        }
        if (_peers.TryGet(context.Address, out var peer))
        {
            if (isClientHello && peer.State == PeerState.Established)
            {
                // RFC 6347 §4.2.8: a new epoch-0 ClientHello on a live association means the client restarted
                // (lost its state, sent no close_notify). Only a verified cookie may replace the session.
                OnClientHello(context, datagram, peer);
                return;
            }
            OnPeerRecord(peer, datagram, context.Plaintext);
            return;
        }
        if (!isClientHello)
        {
            // No session here (evicted, or never had one): nothing to decrypt with.
            _metrics.RecordDropped("no_session");
            return;
        }
        OnClientHello(context, datagram, replacing: null);
    }

    /// <summary>
    /// A tls12_cid record (RFC 9146 §4: the CID sits at offset 11, after epoch and sequence number): matched to its
    /// session by CID alone, whatever its source address. Nothing changes for the session until its record layer has
    /// authenticated the record (see <see cref="ReceiveLocked"/>). A CID no session here has may be another gateway's
    /// session: with a store it is taken over (DtlsTransport.Takeover.cs).
    /// </summary>
    private void OnConnectionIdRecord(ReceiveContext context, ReadOnlySpan<byte> datagram)
    {
        // type(1) version(2) epoch(2) sequence(6) cid(L) length(2)
        if (datagram.Length < 11 + _connectionIds.Length + 2)
        {
            _metrics.RecordDropped("malformed");
            return;
        }
        var cid = datagram.Slice(11, _connectionIds.Length);
        if (_peers.TryGetByConnectionId(cid, out var owner))
        {
            OnPeerRecord(owner, datagram, context.Plaintext, context.Address);
            return;
        }
        // Not a live session's CID (yet). The client's Finished and first request carry the CID before the session is
        // registered under it (the handshake thread registers it right after): those come from the handshake's address.
        if (_peers.TryGet(context.Address, out var peer) && (peer.State == PeerState.Handshaking || cid.SequenceEqual(peer.ConnectionId)))
        {
            OnPeerRecord(peer, datagram, context.Plaintext, source: null);
            return;
        }
        if (!TryTakeOver(context.Address, cid, datagram))
        {
            _metrics.RecordDropped("unknown_cid");
        }
    }

    /// <summary>A ClientHello from an address without a session (or replacing one): cookie first, state only after.</summary>
    private void OnClientHello(ReceiveContext context, ReadOnlySpan<byte> datagram, DtlsPeer? replacing)
    {
        var address = context.Address;
        if (context.ClientId.Length != address.Size)
        {
            context.ClientId = new byte[address.Size];
        }
        address.Buffer.Span[..address.Size].CopyTo(context.ClientId);
        context.Hello.Target = address;
        context.Hello.Sent = false;
        DtlsRequest? request;
        try
        {
            // BouncyCastle's API takes arrays; this copy is the only allocation for an unverified ClientHello.
            var data = datagram.ToArray();
            request = _cookies!.Verify(context.ClientId, data, context.Hello, DtlsRecordHeader.ClientHelloHasCookie(datagram), out var previousSecret);
            if (previousSecret)
            {
                _metrics.CookieFromPreviousSecret();
            }
        }
        catch (Exception)
        {
            request = null; // a malformed ClientHello
        }
        if (request is null)
        {
            if (context.Hello.Sent)
            {
                _metrics.HelloVerifySent();
            }
            else
            {
                _metrics.RecordDropped("bad_client_hello");
            }
            return;
        }
        StartPeer(address, DtlsRecordHeader.ClientHelloRandom(datagram), request, replacing);
    }
}
