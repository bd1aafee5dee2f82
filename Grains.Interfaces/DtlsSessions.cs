namespace NHub.Grains;

/// <summary>
/// What a gateway needs to go on with an established DTLS 1.2 session that another gateway (or its own previous
/// process) negotiated, without a handshake (docs/stateless-gateway.md). <see cref="Secrets"/> holds the record keys
/// (RFC 5246 §6.3 key block): travel it only over the cluster's own connections and never log it; the session grain
/// keeps it encrypted at rest under the deployment's master key.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.DtlsSessionSnapshot")]
public sealed record DtlsSessionSnapshot(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string PskIdentity,
    [property: Id(2)] string SessionKey,
    [property: Id(3)] int CipherSuite,
    [property: Id(4)] bool EncryptThenMac,
    [property: Id(5)] byte[] Secrets,
    [property: Id(6)] byte[] ReceiveConnectionId,
    [property: Id(7)] byte[]? SendConnectionId,
    [property: Id(8)] DateTimeOffset EstablishedAt)
{
    /// <summary>Keeps the key material out of logs and exception messages.</summary>
    public override string ToString() => $"DtlsSessionSnapshot {{ DeviceId = {DeviceId}, SessionKey = {SessionKey}, CipherSuite = {CipherSuite} }}";

    /// <summary>
    /// GCM associated data for <see cref="Secrets"/> at rest (every session store uses it): a label, the receive CID in
    /// lowercase hex and the session key, each length-prefixed so that no two different pairs give the same bytes. A
    /// ciphertext copied to another CID or another session does not decrypt.
    /// </summary>
    public static byte[] SecretsAssociatedData(string connectionId, string sessionKey)
    {
        var label = "nhub.dtls-session"u8;
        var cid = System.Text.Encoding.UTF8.GetBytes(connectionId);
        var key = System.Text.Encoding.UTF8.GetBytes(sessionKey);
        var data = new byte[label.Length + 4 + cid.Length + 4 + key.Length];
        var span = data.AsSpan();
        label.CopyTo(span);
        span = span[label.Length..];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(span, cid.Length);
        cid.CopyTo(span[4..]);
        span = span[(4 + cid.Length)..];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(span, key.Length);
        key.CopyTo(span[4..]);
        return data;
    }
}

/// <summary>
/// The receive side's replay state (RFC 6347 §4.1.2.6) at a checkpoint: the highest sequence number authenticated and
/// the 64-record window below it (bit i set: <c>Top - i</c> was received).
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.DtlsReplayMark")]
public sealed record DtlsReplayMark(
    [property: Id(0)] long Top,
    [property: Id(1)] ulong Window);

/// <summary>
/// A session handed to a gateway by <see cref="IDtlsSessionGrain.TakeOver"/>: it may send epoch-1 records with sequence
/// numbers in [<see cref="WriteSequenceStart"/>, <see cref="WriteSequenceLimit"/>) and none other until it extended the
/// limit (docs/dtls-sequence-reservation.md). <see cref="Replay"/> is the last persisted receive window.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.DtlsSessionLease")]
public sealed record DtlsSessionLease(
    [property: Id(0)] DtlsSessionSnapshot Snapshot,
    [property: Id(1)] long WriteSequenceStart,
    [property: Id(2)] long WriteSequenceLimit,
    [property: Id(3)] DtlsReplayMark Replay,
    [property: Id(4)] Guid PreviousOwner,
    [property: Id(5)] DateTimeOffset ExpiresAt);

/// <summary>
/// Pushed to the previous owner when another copy took one of its sessions over: drop the copy holding
/// <see cref="PreviousLease"/> (not a newer copy of the same session), send nothing more.
/// </summary>
[GenerateSerializer, Immutable, Alias("nhub.DtlsSessionMoved")]
public sealed record DtlsSessionMoved(
    [property: Id(0)] string ConnectionId,
    [property: Id(1)] string SessionKey,
    [property: Id(2)] Guid NewOwner,
    [property: Id(3)] Guid PreviousLease);

/// <summary>
/// One DTLS session kept outside the gateways, keyed by its receive Connection ID in lowercase hex (the CID the device
/// writes in every record, RFC 9146 §3), so that any gateway receiving a record with that CID can find it. One owner at
/// a time, named by a lease: a fresh id for each copy of the session (a handshake's, each takeover's). Extend, Release
/// and Remove state the caller's lease, so two copies in the same gateway, or a restarted gateway with a fixed id and
/// its stalled predecessor, are never both owners.
/// </summary>
[Alias("nhub.IDtlsSessionGrain")]
public interface IDtlsSessionGrain : IGrainWithStringKey
{
    /// <summary>
    /// A handshake completed at <paramref name="gatewayId"/>: persist the session (durable when the call returns) with
    /// the caller as owner (<paramref name="leaseId"/>: this copy) and <paramref name="writeSequenceLimit"/> as the end of its first reserved block, and register
    /// it with the device's twin so that revocation and deletion find it. False when the key holds another live
    /// session (a CID collision across gateway restarts) or the device/credential is no longer active: the session
    /// then stays local to the gateway. <paramref name="retry"/>: the caller's first Store failed or timed out; only a
    /// record this lease already owns is confirmed, nothing new is written (false otherwise: the caller drops its copy).
    /// </summary>
    [Alias("Store")]
    Task<bool> Store(DtlsSessionSnapshot snapshot, Guid gatewayId, Guid leaseId, long writeSequenceLimit, DateTimeOffset expiresAt, bool retry = false);

    /// <summary>
    /// <paramref name="gatewayId"/> received a record for this session, numbered <paramref name="provingSequence"/>,
    /// that authenticated with the stored keys, and holds no copy: make <paramref name="leaseId"/> the owner, lease it
    /// the sequence block [previous limit, previous limit + <paramref name="blockSize"/>), raise the stored replay top to
    /// the proving record's number and the expiry to <paramref name="expiresAt"/> (all durable before returning), and
    /// tell the previous owner (<see cref="IGatewayGrain.SessionMoved"/>). The lease carries the replay mark from
    /// before this call. Null when there is no such session, it expired, its credential was revoked or its device
    /// deleted (the record is then erased), or the proving record is not newer than the stored replay top (a replay, or
    /// a record another takeover already used).
    /// </summary>
    [Alias("TakeOver")]
    Task<DtlsSessionLease?> TakeOver(Guid gatewayId, Guid leaseId, long blockSize, long provingSequence, DateTimeOffset expiresAt);

    /// <summary>
    /// The owner reserves more sequence numbers (the new exclusive limit, never lower than the current one) and
    /// checkpoints its receive window and expiry. False when <paramref name="leaseId"/> no longer owns the session
    /// (or it is gone): the caller must drop its copy and send nothing more.
    /// </summary>
    [Alias("Extend")]
    Task<bool> Extend(Guid leaseId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt);

    /// <summary>Graceful shutdown of the owner: checkpoint the receive window and leave the session ownerless, ready for any gateway.</summary>
    [Alias("Release")]
    Task Release(Guid leaseId, DtlsReplayMark replay);

    /// <summary>
    /// Reads the session without changing anything: the gateway checks that a record authenticates with these keys
    /// before it takes the session over, so a forged record moves nothing. <see cref="DtlsSessionLease.WriteSequenceStart"/>
    /// and <see cref="DtlsSessionLease.WriteSequenceLimit"/> are both the current limit (nothing is leased). Null when
    /// there is no such session or it expired.
    /// </summary>
    [Alias("Load")]
    Task<DtlsSessionLease?> Load();

    /// <summary>
    /// The session ended (closed, evicted, revoked, device deleted): erase it. Only the owning lease may
    /// (<paramref name="leaseId"/>), or the device's twin (<see cref="Guid.Empty"/>): a copy that was taken over and then
    /// evicted must not erase the new owner's session.
    /// </summary>
    [Alias("Remove")]
    Task Remove(Guid leaseId);
}

/// <summary>
/// The key gateways encrypt stored DTLS session secrets with when they write sessions themselves (the PostgreSQL
/// session table): derived from <c>Security:MasterKey</c> for this one purpose, so the master key, and with it the
/// stored PSKs, never leaves the silo.
/// </summary>
[Alias("nhub.IDtlsSessionKeyGrain")]
public interface IDtlsSessionKeyGrain : IGrainWithIntegerKey
{
    /// <summary>The purpose the key is derived for (HKDF info).</summary>
    public const string Purpose = "nhub.dtls-session-store.v1";

    [Alias("GetKey")]
    Task<byte[]> GetKey();
}
