using Microsoft.Extensions.Logging;
using NHub.Grains.Services;

namespace NHub.Grains.Sessions;

/// <summary>
/// One DTLS session kept outside the gateways (docs/stateless-gateway.md, "Session store (grain side)"). The twin of
/// the session's device decides whether it may still be used: it is registered there at <see cref="Store"/> and asked
/// before every <see cref="TakeOver"/>, so a revoked credential or a deleted device ends it even when the twin's own
/// erase call (<see cref="Remove"/>) never arrived.
/// </summary>
/// <remarks>
/// Calls go from here to the twin only (add, check, remove); the twin never waits on this grain (see
/// <c>DeviceGrain.Sessions</c>), so the two cannot deadlock.
/// </remarks>
public sealed partial class DtlsSessionGrain(
    [PersistentState("dtls-session", GrainStorageNames.Default)] IPersistentState<DtlsSessionState> state,
    TimeProvider time,
    CredentialProtector protector,
    ILogger<DtlsSessionGrain> logger) : Grain, IDtlsSessionGrain
{
    /// <summary>
    /// DTLS sequence numbers are 48 bits (RFC 6347 §4.1) and must not wrap; a block ending beyond this would need a
    /// new epoch, i.e. a new handshake.
    /// </summary>
    public const long MaxSequenceLimit = (1L << 48) - 1;

    /// <summary>The largest block one takeover may reserve (2^32 records).</summary>
    public const long MaxBlockSize = 1L << 32;

    private string ConnectionId => this.GetPrimaryKeyString();

    private bool Exists => state.State.SessionKey is not null;

    public async Task<bool> Store(DtlsSessionSnapshot snapshot, Guid gatewayId, Guid leaseId, long writeSequenceLimit, DateTimeOffset expiresAt, bool retry = false)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (!string.Equals(Convert.ToHexStringLower(snapshot.ReceiveConnectionId), ConnectionId, StringComparison.Ordinal) || ConnectionId.Length == 0)
        {
            throw new ArgumentException($"The snapshot's receive Connection ID is not this grain's key '{ConnectionId}'", nameof(snapshot));
        }
        if (string.IsNullOrEmpty(snapshot.SessionKey) || snapshot.Secrets is not { Length: > 0 })
        {
            throw new ArgumentException("The snapshot needs a session key and secrets", nameof(snapshot));
        }
        if (!DeviceIds.IsValid(snapshot.DeviceId))
        {
            throw new ArgumentException($"Invalid device id '{snapshot.DeviceId}'", nameof(snapshot));
        }
        if (gatewayId == Guid.Empty || leaseId == Guid.Empty)
        {
            throw new ArgumentException("A gateway id and a lease id are required", nameof(gatewayId));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(writeSequenceLimit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(writeSequenceLimit, MaxSequenceLimit);

        var now = time.GetUtcNow();
        var s = state.State;
        var sameSession = Exists && string.Equals(s.SessionKey, snapshot.SessionKey, StringComparison.Ordinal);
        if (Exists && !sameSession && s.ExpiresAt > now)
        {
            LogCollision(logger, ConnectionId, snapshot.DeviceId, s.DeviceId);
            return false;
        }
        if (sameSession && s.Lease != leaseId)
        {
            // A late retry: the session was taken over (or released) since, and the storing copy is stale.
            return false;
        }
        if (retry && !sameSession)
        {
            // The first attempt never landed, or landed, was taken over and erased: a new record would let the caller
            // lease numbers a later owner already used (docs/dtls-sequence-reservation.md).
            if (!Exists)
            {
                DeactivateOnIdle();
            }
            return false;
        }

        // The twin first: a device or credential no longer active leaves nothing written here. The reverse failure
        // (registered there, not written here) leaves an entry no takeover can use.
        if (!await GrainFactory.GetGrain<IDeviceGrain>(snapshot.DeviceId).AddDtlsSession(ConnectionId, snapshot.PskIdentity))
        {
            LogRefused(logger, ConnectionId, snapshot.DeviceId);
            return false;
        }
        if (sameSession)
        {
            // The same handshake stored again by its owner (a retried call): keep the reservation, which only grows.
            if (writeSequenceLimit <= s.WriteSequenceLimit && expiresAt <= s.ExpiresAt)
            {
                return true;
            }
            s.WriteSequenceLimit = Math.Max(s.WriteSequenceLimit, writeSequenceLimit);
            s.ExpiresAt = expiresAt > s.ExpiresAt ? expiresAt : s.ExpiresAt;
            s.UpdatedAt = now;
            await state.WriteStateAsync();
            return true;
        }

        var previousDevice = Exists ? s.DeviceId : null;
        state.State = new DtlsSessionState
        {
            SessionKey = snapshot.SessionKey,
            DeviceId = snapshot.DeviceId,
            PskIdentity = snapshot.PskIdentity,
            CipherSuite = snapshot.CipherSuite,
            EncryptThenMac = snapshot.EncryptThenMac,
            ProtectedSecrets = protector.Protect(snapshot.Secrets, DtlsSessionSnapshot.SecretsAssociatedData(ConnectionId, snapshot.SessionKey)),
            ReceiveConnectionId = (byte[])snapshot.ReceiveConnectionId.Clone(),
            SendConnectionId = snapshot.SendConnectionId is { } send ? (byte[])send.Clone() : null,
            EstablishedAt = snapshot.EstablishedAt,
            Owner = gatewayId,
            Lease = leaseId,
            WriteSequenceLimit = writeSequenceLimit,
            // RFC 6347 §4.1: the client's Finished is the first record of epoch 1, sequence number 0, and the only one
            // the handshake itself guarantees was received; the owner's Extend checkpoints the real window.
            Replay = new DtlsReplayMark(0, 1),
            ExpiresAt = expiresAt,
            UpdatedAt = now,
        };
        await state.WriteStateAsync();
        if (previousDevice is not null && !string.Equals(previousDevice, snapshot.DeviceId, StringComparison.Ordinal))
        {
            // An expired session of another device was overwritten: its twin must forget it.
            await UnregisterAsync(previousDevice);
        }
        return true;
    }

    public async Task<DtlsSessionLease?> TakeOver(Guid gatewayId, Guid leaseId, long blockSize, long provingSequence, DateTimeOffset expiresAt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSize, MaxBlockSize);
        if (gatewayId == Guid.Empty || leaseId == Guid.Empty)
        {
            throw new ArgumentException("A gateway id and a lease id are required", nameof(gatewayId));
        }
        if (!Exists)
        {
            DeactivateOnIdle();
            return null;
        }
        var s = state.State;
        var now = time.GetUtcNow();
        if (s.ExpiresAt <= now)
        {
            await EraseAsync("expired", unregister: true);
            return null;
        }
        if (!await GrainFactory.GetGrain<IDeviceGrain>(s.DeviceId).HasDtlsSession(ConnectionId))
        {
            // Revoked credential or deleted device: the twin already forgot the session.
            await EraseAsync("no longer registered with its device", unregister: false);
            return null;
        }
        if (provingSequence <= s.Replay.Top)
        {
            // A replayed record, or one another takeover already used: it proves nothing about who holds the device now.
            return null;
        }
        var start = s.WriteSequenceLimit;
        if (start > MaxSequenceLimit - blockSize)
        {
            await EraseAsync("write sequence numbers exhausted", unregister: true);
            return null;
        }

        var previousOwner = s.Owner;
        var previousLease = s.Lease;
        var replay = s.Replay;
        s.Owner = gatewayId;
        s.Lease = leaseId;
        s.WriteSequenceLimit = start + blockSize;
        // The proving record may not prove anything a second time (RFC 6347 §4.1.2.6 across gateways).
        s.Replay = new DtlsReplayMark(provingSequence, 1);
        s.ExpiresAt = expiresAt > s.ExpiresAt ? expiresAt : s.ExpiresAt;
        s.UpdatedAt = now;
        // Durable before the lease leaves: a crash after this point can only waste the block, never hand it out twice.
        await state.WriteStateAsync();

        var snapshot = Snapshot(s);
        if (previousOwner != Guid.Empty && previousLease != Guid.Empty)
        {
            // Also when the previous owner is the caller's gateway: another copy there (a duplicate takeover, or a
            // restarted process with a fixed gateway id and its predecessor) must stop.
            await NotifyMovedAsync(previousOwner, gatewayId, s.SessionKey!, previousLease);
        }
        LogTakenOver(logger, ConnectionId, s.DeviceId, gatewayId, previousOwner, start, s.WriteSequenceLimit);
        return new DtlsSessionLease(snapshot, start, s.WriteSequenceLimit, replay, previousOwner, s.ExpiresAt);
    }

    public async Task<bool> Extend(Guid leaseId, long writeSequenceLimit, DtlsReplayMark replay, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(replay);
        ArgumentOutOfRangeException.ThrowIfNegative(writeSequenceLimit);
        if (!Exists || state.State.Lease != leaseId || leaseId == Guid.Empty)
        {
            return false;
        }
        var s = state.State;
        if (s.ExpiresAt <= time.GetUtcNow())
        {
            await EraseAsync("expired", unregister: true);
            return false;
        }
        if (writeSequenceLimit > MaxSequenceLimit)
        {
            await EraseAsync("write sequence numbers exhausted", unregister: true);
            return false;
        }
        s.WriteSequenceLimit = Math.Max(s.WriteSequenceLimit, writeSequenceLimit);
        s.Replay = replay.Top >= s.Replay.Top ? replay : s.Replay; // the replay top never goes back
        s.ExpiresAt = expiresAt;
        s.UpdatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return true;
    }

    public async Task Release(Guid leaseId, DtlsReplayMark replay)
    {
        ArgumentNullException.ThrowIfNull(replay);
        if (!Exists || state.State.Lease != leaseId || leaseId == Guid.Empty)
        {
            return;
        }
        if (replay.Top >= state.State.Replay.Top)
        {
            state.State.Replay = replay;
        }
        state.State.Owner = Guid.Empty;
        state.State.Lease = Guid.Empty;
        state.State.UpdatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
    }

    public async Task<DtlsSessionLease?> Load()
    {
        if (!Exists)
        {
            DeactivateOnIdle();
            return null;
        }
        var s = state.State;
        if (s.ExpiresAt <= time.GetUtcNow())
        {
            await EraseAsync("expired", unregister: true);
            return null;
        }
        return new DtlsSessionLease(Snapshot(s), s.WriteSequenceLimit, s.WriteSequenceLimit, s.Replay, s.Owner, s.ExpiresAt);
    }

    public async Task Remove(Guid leaseId)
    {
        if (Exists && leaseId != Guid.Empty && state.State.Lease != leaseId)
        {
            LogRemoveRefused(logger, ConnectionId, leaseId, state.State.Owner);
            return;
        }
        if (Exists)
        {
            await EraseAsync("removed", unregister: true);
        }
        else
        {
            DeactivateOnIdle();
        }
    }

    private DtlsSessionSnapshot Snapshot(DtlsSessionState s)
    {
        var secrets = protector.Unprotect(s.ProtectedSecrets, DtlsSessionSnapshot.SecretsAssociatedData(ConnectionId, s.SessionKey!));
        return new DtlsSessionSnapshot(s.DeviceId, s.PskIdentity, s.SessionKey!, s.CipherSuite, s.EncryptThenMac, secrets,
            (byte[])s.ReceiveConnectionId.Clone(), s.SendConnectionId is { } send ? (byte[])send.Clone() : null, s.EstablishedAt);
    }

    private async Task EraseAsync(string reason, bool unregister)
    {
        var deviceId = state.State.DeviceId;
        await state.ClearStateAsync();
        state.State = new DtlsSessionState();
        LogErased(logger, ConnectionId, deviceId, reason);
        if (unregister)
        {
            await UnregisterAsync(deviceId);
        }
        DeactivateOnIdle();
    }

    /// <summary>Tells the twin to forget this session. The record is already gone, so a failure only leaves an entry that names nothing.</summary>
    private async Task UnregisterAsync(string deviceId)
    {
        try
        {
            await GrainFactory.GetGrain<IDeviceGrain>(deviceId).RemoveDtlsSession(ConnectionId);
        }
        catch (Exception ex)
        {
            LogUnregisterFailed(logger, ex, ConnectionId, deviceId);
        }
    }

    /// <summary>The takeover stands whether or not the notice arrives: the previous owner's next Extend is refused anyway.</summary>
    private async Task NotifyMovedAsync(Guid previousOwner, Guid newOwner, string sessionKey, Guid previousLease)
    {
        try
        {
            await GrainFactory.GetGrain<IGatewayGrain>(previousOwner).SessionMoved(new DtlsSessionMoved(ConnectionId, sessionKey, newOwner, previousLease));
        }
        catch (Exception ex)
        {
            LogNotifyFailed(logger, ex, ConnectionId, previousOwner);
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "DTLS session {ConnectionId} of device {DeviceId} taken over by gateway {GatewayId} from {PreviousOwner}; write sequence numbers [{Start}, {Limit})")]
    private static partial void LogTakenOver(ILogger logger, string connectionId, string deviceId, Guid gatewayId, Guid previousOwner, long start, long limit);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "DTLS session {ConnectionId} of device {DeviceId} erased ({Reason})")]
    private static partial void LogErased(ILogger logger, string connectionId, string deviceId, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "DTLS session of device {DeviceId} not stored: Connection ID {ConnectionId} holds a live session of device {HolderId}")]
    private static partial void LogCollision(ILogger logger, string connectionId, string deviceId, string holderId);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "DTLS session {ConnectionId} not stored: device {DeviceId} or its credential is no longer active")]
    private static partial void LogRefused(ILogger logger, string connectionId, string deviceId);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "Could not tell gateway {PreviousOwner} that DTLS session {ConnectionId} moved; its next Extend will be refused")]
    private static partial void LogNotifyFailed(ILogger logger, Exception ex, string connectionId, Guid previousOwner);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Information, Message = "DTLS session {ConnectionId}: erase by lease {GatewayId} refused, the session belongs to another copy (gateway {Owner})")]
    private static partial void LogRemoveRefused(ILogger logger, string connectionId, Guid gatewayId, Guid owner);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Could not unregister DTLS session {ConnectionId} from device {DeviceId}")]
    private static partial void LogUnregisterFailed(ILogger logger, Exception ex, string connectionId, string deviceId);
}
