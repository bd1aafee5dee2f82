using System.Net;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The record pump: a known peer's records, fed to its handshake or checked (epoch, replay) and decrypted through
/// BouncyCastle at once, the authenticated record's effects (wake, RFC 9146 move) and delivery to the CoAP layer.
/// </summary>
public sealed partial class DtlsTransport
{
    /// <summary>
    /// A record for a known peer: fed to its handshake, or decrypted now (the pump). <paramref name="source"/> is set
    /// for a record matched by CID: the address it came from, where the session moves if the record proves newest.
    /// </summary>
    private void OnPeerRecord(DtlsPeer peer, DtlsRecordHeader header, ReadOnlySpan<byte> datagram, byte[] plaintext, SocketAddress? source = null)
    {
        var closed = false;
        PumpOutcome outcome = default;
        lock (peer.Gate)
        {
            switch (peer.State)
            {
                case PeerState.Handshaking:
                    if (!peer.Channel.TryEnqueue(datagram))
                    {
                        _metrics.RecordDropped("peer_queue_full");
                    }
                    return;
                case PeerState.Closed:
                    _metrics.RecordDropped("closed");
                    return;
            }
            // Established. Cheap checks first, so junk never costs a trip through the record layer. Epoch 1 is
            // the only application epoch (no renegotiation); epoch 0 may still carry the client's retransmitted
            // last flight, which BouncyCastle answers by resending its Finished.
            if (header.Epoch > 1 || (header.Epoch == 0 && header.ContentType is not (DtlsRecordHeader.Handshake or DtlsRecordHeader.ChangeCipherSpec)))
            {
                _metrics.RecordDropped("epoch");
                return;
            }
            if (header.Epoch == 1 && peer.Replay.IsReplay(header.SequenceNumber))
            {
                _metrics.RecordDropped("replay");
                return;
            }
            if (!peer.Channel.TryEnqueue(datagram))
            {
                _metrics.RecordDropped("peer_queue_full");
                return;
            }
            closed = PumpLocked(peer, plaintext, source, ref outcome);
        }
        AfterPump(peer, closed, outcome);
    }

    /// <summary>What one pump did besides delivering data.</summary>
    private struct PumpOutcome
    {
        /// <summary>A session without CID whose address this session moved to (it cannot be reached any more).</summary>
        public DtlsPeer? Displaced;
    }

    /// <summary>The flags of the record BouncyCastle authenticated last on this thread (its record callback writes them).</summary>
    [ThreadStatic]
    private static DtlsRecordFlags t_recordFlags;

    [ThreadStatic]
    private static bool t_recordAuthenticated;

    private static readonly DtlsRecordCallback RecordCallback = static flags =>
    {
        t_recordFlags = flags;
        t_recordAuthenticated = true;
    };

    /// <summary>
    /// Under the peer's lock: decrypts what the channel holds and delivers the plaintext. Returns true when the
    /// session ended (close_notify received, fatal alert, record-layer failure); the caller then finishes the close.
    /// </summary>
    private bool PumpLocked(DtlsPeer peer, byte[] plaintext, SocketAddress? source, ref PumpOutcome outcome)
    {
        var session = peer.Session!;
        try
        {
            while (peer.Channel.HasPending)
            {
                int length;
                peer.Channel.BeginPump();
                t_recordAuthenticated = false;
                t_recordFlags = DtlsRecordFlags.None;
                try
                {
                    length = session.Receive(plaintext.AsSpan(), PumpWaitMillis, RecordCallback);
                }
                catch (PumpDrainedSignal)
                {
                    _metrics.RecordWithoutData();
                    length = -1;
                }
                if (t_recordAuthenticated)
                {
                    OnAuthenticatedLocked(peer, source, t_recordFlags, ref outcome);
                }
                else if (peer.Channel.LastServed is { Epoch: > 0 })
                {
                    // A protected record that did not authenticate (bad MAC, wrong CID, stale epoch): dropped by
                    // BouncyCastle (RFC 9146 §6: silently), counted here.
                    _metrics.RecordDropped("auth_failed");
                }
                if (length < 0)
                {
                    // Not application data: an alert, a retransmitted handshake record, or a corrupt record
                    // (bad MAC: dropped by BouncyCastle, IgnoreCorruptDtlsRecords).
                    continue;
                }
                if (peer.Channel.LastServed is { Epoch: 1 } served)
                {
                    // Authenticated and delivered: from now on a copy of this record is a replay.
                    peer.Replay.Mark(served.SequenceNumber);
                }
                peer.LastActivity = _time.GetTimestamp();
                Deliver(peer, plaintext, length);
                // More records in the same datagram wait inside BouncyCastle, not in our channel.
                while ((length = session.ReceivePending(plaintext.AsSpan(), null)) >= 0)
                {
                    Deliver(peer, plaintext, length);
                }
            }
        }
        catch (Exception ex)
        {
            if (!peer.Channel.IsClosed)
            {
                // A fatal alert from the client, or the record layer failed: the session is over.
                DtlsLog.SessionFailed(_logger, peer.SessionId, peer.EndPoint, ex.Message);
            }
            peer.Close(notify: false);
            return true;
        }
        if (peer.Channel.IsClosed)
        {
            // BouncyCastle got close_notify, answered it and closed the channel.
            peer.Close(notify: false);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Under the peer's lock, right after BouncyCastle authenticated a record (a forged one never gets here) and before
    /// its data is delivered: the RFC 9146 §6 address update (<see cref="TryMoveLocked"/>), and wake detection: a
    /// session heard from after <see cref="DtlsOptions.WakeAfterIdle"/>, or at a new address, is reachable again.
    /// </summary>
    private void OnAuthenticatedLocked(DtlsPeer peer, SocketAddress? source, DtlsRecordFlags flags, ref PumpOutcome outcome)
    {
        var now = _time.GetTimestamp();
        var reachable = now - peer.LastReceived > _wakeAfterIdle;
        peer.LastReceived = now;
        if (source is not null && TryMoveLocked(peer, source, flags, ref outcome))
        {
            reachable = true;
        }
        if (reachable && peer.Info is { } info)
        {
            try
            {
                _receiver!.OnPeerReachable(info);
            }
            catch (Exception ex)
            {
                DtlsLog.HandlerError(_logger, ex, peer.EndPoint);
            }
        }
    }

    private void Deliver(DtlsPeer peer, byte[] plaintext, int length)
    {
        try
        {
            _receiver!.OnDatagram(peer.Info!, plaintext.AsSpan(0, length));
        }
        catch (Exception ex)
        {
            _metrics.RecordDropped("handler_error");
            DtlsLog.HandlerError(_logger, ex, peer.EndPoint);
        }
    }
}
