using System.Net;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The record path of a known peer: records of a handshake in progress go to BouncyCastle (queued in the peer's
/// channel); an established session's records are opened here at once by its own record layer
/// (<see cref="SessionRecordLayer"/>): epoch and replay checks, authentication and decryption, the authenticated
/// record's effects (wake, RFC 9146 move), and delivery to the CoAP layer.
/// </summary>
public sealed partial class DtlsTransport
{
    /// <summary>
    /// A datagram for a known peer. <paramref name="source"/> is set for a record matched by CID: the address it came
    /// from, where the session moves if the record proves newest.
    /// </summary>
    private void OnPeerRecord(DtlsPeer peer, ReadOnlySpan<byte> datagram, byte[] plaintext, SocketAddress? source = null)
    {
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
            ReceiveLocked(peer, datagram, plaintext, source, ref outcome);
        }
        AfterPump(peer, outcome);
    }

    /// <summary>What one datagram did besides delivering data.</summary>
    private struct PumpOutcome
    {
        /// <summary>A session without CID whose address this session moved to (it cannot be reached any more).</summary>
        public DtlsPeer? Displaced;

        /// <summary>Set when the session ended (close_notify or a fatal alert from the client).</summary>
        public SessionCloseReason? Closed;

        /// <summary>The session's sequence reservation or replay window is due to be written to the store.</summary>
        public bool Checkpoint;

        /// <summary>
        /// The device was heard from after <see cref="DtlsOptions.WakeAfterIdle"/> or at a new address: what waits for
        /// it is re-sent, after the datagram's records were delivered (one of them may be the ACK of what waits).
        /// </summary>
        public bool Reachable;
    }

    /// <summary>
    /// Under the peer's lock: every record of <paramref name="datagram"/> (several may share it, RFC 6347 §4.1.1),
    /// checked, opened and acted on. Forged, replayed and malformed records are dropped and counted, never answered
    /// (RFC 6347 §4.1.2.7, RFC 9146 §6).
    /// </summary>
    private void ReceiveLocked(DtlsPeer peer, ReadOnlySpan<byte> datagram, byte[] plaintext, SocketAddress? source, ref PumpOutcome outcome)
    {
        var records = peer.Records!;
        var cidLength = records.ReceiveConnectionId?.Length ?? 0;
        while (!datagram.IsEmpty && outcome.Closed is null && peer.State == PeerState.Established)
        {
            if (!DtlsRecord.TryRead(datagram, cidLength, out var record, out var consumed))
            {
                _metrics.RecordDropped("malformed");
                return;
            }
            datagram = datagram[consumed..];
            if (record.Epoch == 0)
            {
                // The client's last handshake flight again (ClientKeyExchange, ChangeCipherSpec): it did not get our
                // Finished. RFC 6347 §4.2.4: answer with our last flight.
                if (record.OuterType is DtlsRecordHeader.Handshake or DtlsRecordHeader.ChangeCipherSpec)
                {
                    _metrics.RecordWithoutData();
                    ResendFinalFlight(peer);
                }
                else
                {
                    _metrics.RecordDropped("epoch");
                }
                continue;
            }
            if (record.Epoch != SessionRecordLayer.Epoch)
            {
                _metrics.RecordDropped("epoch"); // no renegotiation, so no later epoch
                continue;
            }
            if (cidLength > 0 != record.UsesConnectionId)
            {
                // RFC 9146 §3: once a CID is negotiated, the client's protected records carry it (and vice versa).
                _metrics.RecordDropped("auth_failed");
                continue;
            }
            if (records.IsReplay(record.Sequence))
            {
                _metrics.RecordDropped("replay");
                continue;
            }
            if (!records.TryOpen(record, plaintext, out var length, out var contentType, out var newest))
            {
                _metrics.RecordDropped("auth_failed");
                continue;
            }
            OnAuthenticatedLocked(peer, source, newest, record.UsesConnectionId, ref outcome);
            switch (contentType)
            {
                case DtlsRecordHeader.ApplicationData:
                    records.HandshakeConfirmed();
                    peer.LastActivity = _time.GetTimestamp();
                    Deliver(peer, plaintext, length);
                    break;
                case DtlsRecordHeader.Alert:
                    _metrics.RecordWithoutData();
                    OnAlertLocked(peer, plaintext.AsSpan(0, length), ref outcome);
                    break;
                case DtlsRecordHeader.Handshake:
                    // Our Finished was lost and the client retransmitted its own (a renegotiation is never started).
                    _metrics.RecordWithoutData();
                    ResendFinalFlight(peer);
                    break;
                default:
                    _metrics.RecordWithoutData(); // heartbeat, a stray ChangeCipherSpec: nothing to do
                    break;
            }
        }
        if (peer.Stored && records.ReceivedSinceCheckpoint >= _options.ReplayCheckpointRecords)
        {
            outcome.Checkpoint = true;
        }
    }

    /// <summary>RFC 5246 §7.2: close_notify is answered with close_notify; a fatal alert ends the session; a warning is ignored.</summary>
    private void OnAlertLocked(DtlsPeer peer, ReadOnlySpan<byte> alert, ref PumpOutcome outcome)
    {
        if (alert.Length < 2)
        {
            return;
        }
        const byte Fatal = 2, CloseNotify = 0;
        if (alert[1] == CloseNotify)
        {
            peer.Close(notify: true);
            outcome.Closed = SessionCloseReason.CloseNotify;
        }
        else if (alert[0] == Fatal)
        {
            DtlsLog.SessionFailed(_logger, peer.SessionId, peer.EndPoint, $"fatal alert {alert[1]} received");
            peer.Close(notify: false);
            outcome.Closed = SessionCloseReason.Failed;
        }
    }

    private void ResendFinalFlight(DtlsPeer peer)
    {
        var flight = peer.Records!.FinalFlightToResend(_time.GetTimestamp(), _time.TimestampFrequency);
        if (!flight.IsEmpty)
        {
            peer.Channel.Send(flight);
        }
    }

    /// <summary>
    /// Under the peer's lock, right after a record authenticated (a forged one never gets here) and before its data is
    /// delivered: the RFC 9146 §6 address update (<see cref="TryMoveLocked"/>), and wake detection: a session heard
    /// from after <see cref="DtlsOptions.WakeAfterIdle"/>, or at a new address, is reachable again. The CoAP layer is
    /// told in <see cref="AfterPump"/>, once the records were delivered: a sleeping device's first record is often the
    /// ACK of the notification waiting for it, and re-sending that before the ACK is seen sent it twice (measured:
    /// 4 of 5 command notifications, bench/RESULTS.md "Gateway takeover").
    /// </summary>
    private void OnAuthenticatedLocked(DtlsPeer peer, SocketAddress? source, bool newest, bool usesConnectionId, ref PumpOutcome outcome)
    {
        var now = _time.GetTimestamp();
        var reachable = now - peer.LastReceived > _wakeAfterIdle;
        peer.LastReceived = now;
        if (source is not null && TryMoveLocked(peer, source, newest, usesConnectionId, ref outcome))
        {
            reachable = true;
        }
        outcome.Reachable |= reachable;
    }

    /// <summary>
    /// An application-data record's plaintext, to the CoAP layer: answered here if it completes synchronously (an ACK,
    /// a duplicate, an inline resource), otherwise queued for the workers (<see cref="ReceiveQueue"/> says why not on
    /// this receive loop), at most <see cref="DtlsOptions.DeliveryQueueCapacity"/> waiting.
    /// </summary>
    private void Deliver(DtlsPeer peer, byte[] plaintext, int length)
    {
        var info = peer.Info!;
        try
        {
            if (_receiver!.TryReceiveInline(info, plaintext.AsMemory(0, length)))
            {
                return;
            }
        }
        catch (Exception ex)
        {
            _metrics.RecordDropped("handler_error");
            DtlsLog.HandlerError(_logger, ex, peer.EndPoint);
            return;
        }
        if (!_deliveries.TryQueue(info, plaintext.AsSpan(0, length)))
        {
            _metrics.RecordDropped("queue_full");
        }
    }

    private void OnHandlerFailed(PeerInfo peer, Exception error)
    {
        _metrics.RecordDropped("handler_error");
        DtlsLog.HandlerError(_logger, error, peer.EndPoint);
    }
}
