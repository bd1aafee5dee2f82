using System.Security.Cryptography;
using NHub.Gateway.Resources;
using NHub.Gateway.Transport.Dtls;
using NHub.Grains.Services;
using Npgsql;
using NpgsqlTypes;

namespace NHub.Gateway.Backend;

/// <summary>
/// The DTLS session store in PostgreSQL's <c>nhub_dtls_sessions</c> table (migration 0007), written by this gateway
/// directly: a handshake costs one insert (and the trim of the device's oldest sessions, in the same transaction), a
/// takeover one locked update, so neither waits on a grain or on the silo (docs/stateless-gateway.md, "Session
/// store"). Arbitration between gateways is the row lock: every statement that changes ownership or the sequence
/// reservation names the caller's lease in its WHERE clause, and a takeover locks the row before it reads what it
/// returns, so two takeovers of one session are serialized and the second starts its block after the first's.
/// </summary>
/// <remarks>
/// The secrets are AES-256-GCM under the key <see cref="IDtlsSessionKeyGrain"/> derives from the master key (fetched
/// once), bound to the CID and the session key. Revoking a credential or deleting a device deletes its rows and
/// records the revocation (the silo, <c>PostgresDtlsSessionEraser</c>); loads and takeovers refuse a session whose
/// credential was revoked after it was established (<see cref="NotRevoked"/>), so a row written by a handshake that
/// raced the revocation is never used. Nothing on the takeover path calls a grain.
/// </remarks>
public sealed partial class PostgresDtlsSessionStore(
    [FromKeyedServices(PostgresDtlsSessionStore.DataSourceKey)] NpgsqlDataSource db,
    [FromKeyedServices(PostgresDtlsSessionStore.LazyCommitDataSourceKey)] NpgsqlDataSource lazyCommitDb,
    IGrainFactory grains,
    GatewayIdentity gateway,
    SessionStoreOptions options,
    TimeProvider time,
    ILogger<PostgresDtlsSessionStore> logger) : IDtlsSessionStore, IDisposable
{
    /// <summary>The DI key of this store's own connection pool.</summary>
    public const string DataSourceKey = "nhub-gateway-sessions";

    /// <summary>
    /// The DI key of its second pool, whose sessions run with <c>synchronous_commit = off</c>: used only for the
    /// handshake's insert (and its trim), whose loss in a PostgreSQL crash is harmless (see <see cref="StoreAsync"/>).
    /// </summary>
    public const string LazyCommitDataSourceKey = "nhub-gateway-sessions-lazy";

    /// <summary>RFC 6347 §4.1: 48-bit sequence numbers that may not wrap within an epoch.</summary>
    private const long MaxSequenceLimit = (1L << 48) - 1;

    /// <summary>
    /// The session's credential was not revoked after it was established: no <c>nhub_revoked_credentials</c> row
    /// (written by the twin with the erase, docs/stateless-gateway.md) from before, or up to a minute after, the
    /// handshake. The minute covers a handshake that looked its key up just before the revocation and wrote its row
    /// after the erase, and the clocks of gateways and database apart. Table alias <c>s</c>.
    /// </summary>
    internal const string NotRevoked =
        "NOT EXISTS (SELECT 1 FROM nhub_revoked_credentials r WHERE r.psk_identity = s.psk_identity AND s.established_at <= r.revoked_at + interval '60 seconds')";

    private const string SessionColumns =
        "session_key, device_id, psk_identity, cipher_suite, encrypt_then_mac, secrets, send_connection_id, established_at";

    private readonly SemaphoreSlim _keyGate = new(1, 1);
    private CredentialProtector? _protector;

    /// <remarks>
    /// The first attempt commits lazily (<see cref="LazyCommitDataSourceKey"/>): it returns once the row is visible to
    /// every gateway, before its WAL reaches the disk. Losing it in a PostgreSQL crash is harmless: nobody else can
    /// then find the session, and this copy, whose first block nobody else can lease, drops itself at its next
    /// extension (refused: no row). Every later write that hands out sequence numbers or moves ownership (take over,
    /// extend, release) commits durably, and a durable commit also flushes every WAL record before it, so a takeover
    /// never rests on an insert that could still be lost (docs/dtls-sequence-reservation.md).
    /// </remarks>
    public async Task<bool> StoreAsync(DtlsSessionSnapshot session, Guid leaseId, long writeSequenceLimit, DateTimeOffset expiresAt, bool retry, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(writeSequenceLimit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(writeSequenceLimit, MaxSequenceLimit);
        var now = time.GetUtcNow();
        if (retry)
        {
            return await ConfirmStoredAsync(session, leaseId, writeSequenceLimit, expiresAt, now, cancellationToken);
        }
        var protector = await ProtectorAsync(cancellationToken);
        var cidHex = Convert.ToHexStringLower(session.ReceiveConnectionId);
        await using var batch = lazyCommitDb.CreateBatch();
        // One implicit transaction for both. The insert takes a free CID, or one whose (other) session expired; the
        // same handshake stored again by its own copy only grows the reservation and the expiry. A live session of
        // another handshake under the same CID (a collision across restarts), or this session under another lease
        // (taken over since, even if expired now), is left alone: no row.
        // RFC 6347 §4.1: the client's Finished is record 0 of epoch 1, the only one the handshake proves received.
        var insert = new NpgsqlBatchCommand(
            $"""
            INSERT INTO nhub_dtls_sessions AS s (connection_id, {SessionColumns}, owner, lease, write_sequence_limit,
                replay_top, replay_window, expires_at, updated_at)
            VALUES (@cid, @key, @device, @identity, @suite, @etm, @secrets, @send, @established, @owner, @lease, @limit,
                0, 1, @expires, @now)
            ON CONFLICT (connection_id) DO UPDATE SET
                session_key = excluded.session_key, device_id = excluded.device_id, psk_identity = excluded.psk_identity,
                cipher_suite = excluded.cipher_suite, encrypt_then_mac = excluded.encrypt_then_mac, secrets = excluded.secrets,
                send_connection_id = excluded.send_connection_id, established_at = excluded.established_at,
                owner = excluded.owner, lease = excluded.lease,
                write_sequence_limit = CASE WHEN s.session_key = excluded.session_key
                    THEN GREATEST(s.write_sequence_limit, excluded.write_sequence_limit) ELSE excluded.write_sequence_limit END,
                replay_top = CASE WHEN s.session_key = excluded.session_key THEN s.replay_top ELSE 0 END,
                replay_window = CASE WHEN s.session_key = excluded.session_key THEN s.replay_window ELSE 1 END,
                expires_at = GREATEST(CASE WHEN s.session_key = excluded.session_key THEN s.expires_at END, excluded.expires_at),
                updated_at = excluded.updated_at
            WHERE (s.session_key = excluded.session_key AND s.lease = excluded.lease)
                OR (s.session_key <> excluded.session_key AND s.expires_at <= @now)
            RETURNING 1
            """);
        var p = insert.Parameters;
        p.AddWithValue("cid", session.ReceiveConnectionId);
        p.AddWithValue("key", session.SessionKey);
        p.AddWithValue("device", session.DeviceId);
        p.AddWithValue("identity", session.PskIdentity);
        p.AddWithValue("suite", session.CipherSuite);
        p.AddWithValue("etm", session.EncryptThenMac);
        p.AddWithValue("secrets", protector.Protect(session.Secrets, DtlsSessionSnapshot.SecretsAssociatedData(cidHex, session.SessionKey)));
        p.Add(new NpgsqlParameter<byte[]?>("send", session.SendConnectionId) { NpgsqlDbType = NpgsqlDbType.Bytea });
        p.AddWithValue("established", session.EstablishedAt);
        p.AddWithValue("owner", gateway.Id);
        p.AddWithValue("lease", leaseId);
        p.AddWithValue("limit", writeSequenceLimit);
        p.AddWithValue("expires", expiresAt);
        p.AddWithValue("now", now);
        batch.BatchCommands.Add(insert);
        // The device keeps its newest few; older ones end (their holders' next Extend is refused). Never the one just
        // written (an old handshake's snapshot retried, or gateways' clocks apart). Rows another transaction holds are
        // skipped, not waited for: two handshakes of one device trimming at once locked overlapping rows in opposite
        // orders and deadlocked (40P01, found by a benchmark); a skipped row goes with the device's next store.
        var trim = new NpgsqlBatchCommand(
            """
            DELETE FROM nhub_dtls_sessions WHERE connection_id IN (
                SELECT connection_id FROM nhub_dtls_sessions WHERE device_id = @device AND connection_id <> @cid
                ORDER BY established_at DESC OFFSET @keep FOR UPDATE SKIP LOCKED)
            """);
        trim.Parameters.AddWithValue("cid", session.ReceiveConnectionId);
        trim.Parameters.AddWithValue("device", session.DeviceId);
        trim.Parameters.AddWithValue("keep", options.MaxSessionsPerDevice - 1); // besides the one just written
        batch.BatchCommands.Add(trim);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var stored = await reader.ReadAsync(cancellationToken);
        // Through every result, so that an error of the trim or of the commit surfaces here (a reader closed early
        // swallows a cancellation while it drains, and the batch would be rolled back unseen).
        while (await reader.NextResultAsync(cancellationToken))
        {
        }
        if (!stored)
        {
            LogNotStored(logger, cidHex, session.DeviceId);
        }
        return stored;
    }

    /// <summary>A retried store: grows the reservation and the expiry of the row this lease owns; writes no new row.</summary>
    private async Task<bool> ConfirmStoredAsync(DtlsSessionSnapshot session, Guid leaseId, long writeSequenceLimit, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand(
            """
            UPDATE nhub_dtls_sessions SET write_sequence_limit = GREATEST(write_sequence_limit, @limit),
                expires_at = GREATEST(expires_at, @expires), updated_at = @now
            WHERE connection_id = @cid AND session_key = @key AND lease = @lease AND expires_at > @now
            """);
        var p = cmd.Parameters;
        p.AddWithValue("cid", session.ReceiveConnectionId);
        p.AddWithValue("key", session.SessionKey);
        p.AddWithValue("lease", leaseId);
        p.AddWithValue("limit", writeSequenceLimit);
        p.AddWithValue("expires", expiresAt);
        p.AddWithValue("now", now);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<DtlsSessionLease?> LoadAsync(byte[] connectionId, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand(
            $"""
            SELECT {SessionColumns}, owner, write_sequence_limit, replay_top, replay_window, expires_at
            FROM nhub_dtls_sessions AS s WHERE connection_id = @cid AND expires_at > @now AND {NotRevoked}
            """);
        cmd.Parameters.AddWithValue("cid", connectionId);
        cmd.Parameters.AddWithValue("now", time.GetUtcNow());
        DtlsSessionLease? lease;
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            var limit = reader.GetInt64(9);
            lease = await ReadLeaseAsync(reader, connectionId, start: limit, limit, ownerColumn: 8, replayColumn: 10, expiresColumn: 12, cancellationToken);
        }
        // Null when undecryptable here: refused, not erased (another gateway may hold the right key).
        return lease;
    }

    public async Task<DtlsSessionLease?> TakeOverAsync(byte[] connectionId, Guid leaseId, long blockSize, long provingSequence, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        // The row is locked first (FOR UPDATE waits for a concurrent takeover and then reads its result), so what this
        // returns as "before" is what the update changes. The new block starts where the stored one ended; the proving
        // record becomes the stored replay top, so it cannot prove a second takeover. A block that would pass 2^48 − 1
        // matches nothing: refused (its owner's own extension erases it, ExtendAsync).
        await using var cmd = db.CreateCommand(
            $"""
            WITH before AS (
                SELECT connection_id, owner, lease, replay_top, replay_window
                FROM nhub_dtls_sessions WHERE connection_id = @cid FOR UPDATE)
            UPDATE nhub_dtls_sessions AS s SET owner = @owner, lease = @lease,
                write_sequence_limit = s.write_sequence_limit + @block,
                replay_top = @proving, replay_window = 1,
                expires_at = GREATEST(s.expires_at, @expires), updated_at = @now
            FROM before
            WHERE s.connection_id = before.connection_id AND s.expires_at > @now AND @proving > s.replay_top
                AND s.write_sequence_limit <= @max_start AND {NotRevoked}
            RETURNING s.{SessionColumns.Replace(", ", ", s.", StringComparison.Ordinal)},
                before.owner, before.lease, s.write_sequence_limit, before.replay_top, before.replay_window, s.expires_at
            """);
        var p = cmd.Parameters;
        p.AddWithValue("cid", connectionId);
        p.AddWithValue("owner", gateway.Id);
        p.AddWithValue("lease", leaseId);
        p.AddWithValue("block", blockSize);
        p.AddWithValue("proving", provingSequence);
        p.AddWithValue("expires", expiresAt);
        p.AddWithValue("now", time.GetUtcNow());
        p.AddWithValue("max_start", MaxSequenceLimit - blockSize);
        DtlsSessionLease? lease;
        Guid? previousLease;
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null; // gone, expired, revoked, a replayed or already used proving record, or sequence numbers exhausted
            }
            previousLease = reader.IsDBNull(9) ? null : reader.GetGuid(9);
            var limit = reader.GetInt64(10);
            lease = await ReadLeaseAsync(reader, connectionId, start: limit - blockSize, limit, ownerColumn: 8, replayColumn: 11, expiresColumn: 13, cancellationToken);
        }
        if (lease is null)
        {
            // Undecryptable (an altered row: every gateway gets the same key from the silo). Ours now, and useless.
            await DeleteAsync(connectionId, leaseId, cancellationToken);
            return null;
        }
        if (lease.PreviousOwner != Guid.Empty && previousLease is { } previous)
        {
            // Also when the previous owner is this gateway: another copy here (a duplicate takeover) must stop.
            _ = NotifyMovedAsync(lease.PreviousOwner, new DtlsSessionMoved(Convert.ToHexStringLower(connectionId), lease.Snapshot.SessionKey, gateway.Id, previous));
        }
        LogTakenOver(logger, Convert.ToHexStringLower(connectionId), lease.Snapshot.DeviceId, lease.PreviousOwner, lease.WriteSequenceStart, lease.WriteSequenceLimit);
        return lease;
    }

    public async Task<bool> ExtendAsync(byte[] connectionId, Guid leaseId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(replay);
        if (writeSequenceLimit > MaxSequenceLimit)
        {
            await DeleteAsync(connectionId, leaseId, cancellationToken);
            return false;
        }
        // The limit and the replay top never go back; only the owning lease's row matches.
        await using var cmd = db.CreateCommand(
            """
            UPDATE nhub_dtls_sessions SET write_sequence_limit = GREATEST(write_sequence_limit, @limit),
                replay_window = CASE WHEN @top >= replay_top THEN @window ELSE replay_window END,
                replay_top = GREATEST(replay_top, @top),
                expires_at = @expires, updated_at = @now
            WHERE connection_id = @cid AND lease = @lease AND expires_at > @now
            """);
        var p = cmd.Parameters;
        p.AddWithValue("cid", connectionId);
        p.AddWithValue("lease", leaseId);
        p.AddWithValue("limit", writeSequenceLimit);
        p.AddWithValue("top", replay.Top);
        p.AddWithValue("window", unchecked((long)replay.Window));
        p.AddWithValue("expires", expiresAt);
        p.AddWithValue("now", time.GetUtcNow());
        return await cmd.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task ReleaseAsync(byte[] connectionId, Guid leaseId, DtlsReplayMark replay, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(replay);
        await using var cmd = db.CreateCommand(
            """
            UPDATE nhub_dtls_sessions SET owner = NULL, lease = NULL,
                replay_window = CASE WHEN @top >= replay_top THEN @window ELSE replay_window END,
                replay_top = GREATEST(replay_top, @top), updated_at = @now
            WHERE connection_id = @cid AND lease = @lease
            """);
        cmd.Parameters.AddWithValue("cid", connectionId);
        cmd.Parameters.AddWithValue("lease", leaseId);
        cmd.Parameters.AddWithValue("top", replay.Top);
        cmd.Parameters.AddWithValue("window", unchecked((long)replay.Window));
        cmd.Parameters.AddWithValue("now", time.GetUtcNow());
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task RemoveAsync(byte[] connectionId, Guid leaseId, CancellationToken cancellationToken) =>
        DeleteAsync(connectionId, leaseId, cancellationToken);

    public void Dispose() => _keyGate.Dispose();

    /// <summary>Reads a row's session columns (0–7) and the given owner, replay and expiry columns into a lease.</summary>
    private async Task<DtlsSessionLease?> ReadLeaseAsync(NpgsqlDataReader reader, byte[] connectionId, long start, long limit, int ownerColumn, int replayColumn, int expiresColumn, CancellationToken cancellationToken)
    {
        var sessionKey = reader.GetString(0);
        var deviceId = reader.GetString(1);
        byte[] secrets;
        try
        {
            var protector = await ProtectorAsync(cancellationToken);
            secrets = protector.Unprotect(reader.GetFieldValue<byte[]>(5), DtlsSessionSnapshot.SecretsAssociatedData(Convert.ToHexStringLower(connectionId), sessionKey));
        }
        catch (CryptographicException ex)
        {
            // Another master key (rotated), or an altered row: nobody can use it.
            LogUndecryptable(logger, ex, Convert.ToHexStringLower(connectionId), deviceId);
            return null;
        }
        var snapshot = new DtlsSessionSnapshot(deviceId, reader.GetString(2), sessionKey, reader.GetInt32(3), reader.GetBoolean(4), secrets,
            (byte[])connectionId.Clone(), reader.IsDBNull(6) ? null : reader.GetFieldValue<byte[]>(6), reader.GetFieldValue<DateTimeOffset>(7));
        var owner = reader.IsDBNull(ownerColumn) ? Guid.Empty : reader.GetGuid(ownerColumn);
        var replay = new DtlsReplayMark(reader.GetInt64(replayColumn), unchecked((ulong)reader.GetInt64(replayColumn + 1)));
        return new DtlsSessionLease(snapshot, start, limit, replay, owner, reader.GetFieldValue<DateTimeOffset>(expiresColumn));
    }

    private async Task DeleteAsync(byte[] connectionId, Guid lease, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("DELETE FROM nhub_dtls_sessions WHERE connection_id = @cid AND lease = @lease");
        cmd.Parameters.AddWithValue("cid", connectionId);
        cmd.Parameters.AddWithValue("lease", lease);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The takeover stands whether or not the notice arrives: the previous owner's next Extend is refused anyway.</summary>
    private async Task NotifyMovedAsync(Guid previousOwner, DtlsSessionMoved moved)
    {
        try
        {
            await grains.GetGrain<IGatewayGrain>(previousOwner).SessionMoved(moved);
        }
        catch (Exception ex)
        {
            LogNotifyFailed(logger, ex, moved.ConnectionId, previousOwner);
        }
    }

    private async ValueTask<CredentialProtector> ProtectorAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _protector) is { } ready)
        {
            return ready;
        }
        await _keyGate.WaitAsync(cancellationToken);
        try
        {
            if (_protector is null)
            {
                var key = await grains.GetGrain<IDtlsSessionKeyGrain>(0).GetKey().WaitAsync(cancellationToken);
                Volatile.Write(ref _protector, new CredentialProtector(key));
                CryptographicOperations.ZeroMemory(key);
            }
            return _protector!;
        }
        finally
        {
            _keyGate.Release();
        }
    }

    [LoggerMessage(EventId = 5210, Level = LogLevel.Warning, Message = "DTLS session {ConnectionId} of device {DeviceId} not stored: the Connection ID holds another live session")]
    private static partial void LogNotStored(ILogger logger, string connectionId, string deviceId);

    [LoggerMessage(EventId = 5211, Level = LogLevel.Information, Message = "DTLS session {ConnectionId} of device {DeviceId} taken over from gateway {PreviousOwner}; write sequence numbers [{Start}, {Limit})")]
    private static partial void LogTakenOver(ILogger logger, string connectionId, string deviceId, Guid previousOwner, long start, long limit);

    [LoggerMessage(EventId = 5212, Level = LogLevel.Warning, Message = "Stored DTLS session {ConnectionId} of device {DeviceId} cannot be decrypted (another master key?); refused")]
    private static partial void LogUndecryptable(ILogger logger, Exception ex, string connectionId, string deviceId);

    [LoggerMessage(EventId = 5214, Level = LogLevel.Warning, Message = "Could not tell gateway {PreviousOwner} that DTLS session {ConnectionId} moved")]
    private static partial void LogNotifyFailed(ILogger logger, Exception ex, string connectionId, Guid previousOwner);
}
