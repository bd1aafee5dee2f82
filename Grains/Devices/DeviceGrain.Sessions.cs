using Microsoft.Extensions.Logging;
using NHub.Grains.Services;

namespace NHub.Grains.Devices;

/// <summary>
/// The DTLS sessions stored outside the gateways (<see cref="IDtlsSessionGrain"/>, docs/stateless-gateway.md) that
/// belong to this device. The twin is the authority on whether one may still be used: the session grain asks
/// <see cref="HasDtlsSession"/> before every takeover, so revoking a credential or deleting the device ends its
/// stored sessions as soon as this state is written, whatever happens to the erase calls that follow.
/// </summary>
/// <remarks>
/// Calls go session grain → twin (add, check, remove). The twin never awaits a session grain: when it erases one
/// (eviction, revocation, deletion) it sends <see cref="IDtlsSessionGrain.Remove"/> without waiting for the answer.
/// Awaiting it would deadlock whenever that session grain is itself waiting on this twin (a Store awaiting
/// <see cref="AddDtlsSession"/> while the portal revokes the credential): neither grain is reentrant, so each would
/// wait for the other until the call timeout. A lost Remove leaves a record that no takeover can use (the check
/// above fails) and that the next takeover attempt erases.
/// </remarks>
public sealed partial class DeviceGrain
{
    public async Task<bool> AddDtlsSession(string connectionId, string pskIdentity)
    {
        if (!Exists || !HasActiveCredential(pskIdentity))
        {
            return false;
        }
        var sessions = state.State.DtlsSessions;
        var known = sessions.Find(s => string.Equals(s.ConnectionId, connectionId, StringComparison.Ordinal));
        if (known is not null && string.Equals(known.PskIdentity, pskIdentity, StringComparison.Ordinal))
        {
            // A repeated Store (the session grain retrying): nothing to write.
            return true;
        }
        if (known is not null)
        {
            sessions.Remove(known);
        }
        sessions.Add(new DtlsSessionRef { ConnectionId = connectionId, PskIdentity = pskIdentity, AddedAt = time.GetUtcNow() });
        List<string>? evicted = null;
        while (sessions.Count > _options.MaxDtlsSessions)
        {
            (evicted ??= []).Add(sessions[0].ConnectionId);
            sessions.RemoveAt(0);
        }
        await state.WriteStateAsync();
        if (evicted is not null)
        {
            EraseSessionsInBackground(evicted, "evicted by a newer session");
        }
        return true;
    }

    public Task<bool> HasDtlsSession(string connectionId)
    {
        var known = state.State.DtlsSessions.Find(s => string.Equals(s.ConnectionId, connectionId, StringComparison.Ordinal));
        return Task.FromResult(Exists && known is not null && HasActiveCredential(known.PskIdentity));
    }

    public async Task RemoveDtlsSession(string connectionId)
    {
        if (state.State.DtlsSessions.RemoveAll(s => string.Equals(s.ConnectionId, connectionId, StringComparison.Ordinal)) > 0)
        {
            await state.WriteStateAsync();
        }
    }

    private bool HasActiveCredential(string pskIdentity)
    {
        foreach (var c in state.State.Credentials)
        {
            if (c.Status == CredentialStatus.Active && string.Equals(c.PskIdentity, pskIdentity, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Drops the sessions of <paramref name="pskIdentity"/> (all when null) from the state; the caller writes the state,
    /// then calls <see cref="EraseSessionsInBackground"/> with the result.
    /// </summary>
    private List<string> ForgetDtlsSessions(string? pskIdentity)
    {
        var forgotten = new List<string>();
        var sessions = state.State.DtlsSessions;
        for (var i = sessions.Count - 1; i >= 0; i--)
        {
            if (pskIdentity is null || string.Equals(sessions[i].PskIdentity, pskIdentity, StringComparison.Ordinal))
            {
                forgotten.Add(sessions[i].ConnectionId);
                sessions.RemoveAt(i);
            }
        }
        return forgotten;
    }

    private void EraseSessionsInBackground(List<string> connectionIds, string reason)
    {
        foreach (var id in connectionIds)
        {
            EraseSessionInBackground(id, reason);
        }
    }

    /// <summary>Sends Remove and does not wait for it (see the remarks on this class); a failure is logged.</summary>
    private void EraseSessionInBackground(string connectionId, string reason)
    {
        LogSessionErased(logger, DeviceId, connectionId, reason);
        _ = EraseSessionAsync(connectionId);
    }

    private async Task EraseSessionAsync(string connectionId)
    {
        try
        {
            await GrainFactory.GetGrain<IDtlsSessionGrain>(connectionId).Remove(Guid.Empty);
        }
        catch (Exception ex)
        {
            LogSessionEraseFailed(logger, ex, DeviceId, connectionId);
        }
    }

    /// <summary>
    /// Erases the rows gateways wrote to the session table (<see cref="IDtlsSessionEraser"/>) after the state is written.
    /// A failure is logged: the revocation push still closes the live sessions, and a leftover row stays usable by a
    /// takeover until it expires (the operator sees this warning).
    /// </summary>
    private async Task EraseTableSessionsAsync(IReadOnlyCollection<string> revokedIdentities, bool wholeDevice, string reason)
    {
        try
        {
            var erased = await sessionTable.EraseAsync(DeviceId, revokedIdentities, wholeDevice, CancellationToken.None);
            if (erased > 0)
            {
                LogTableSessionsErased(logger, DeviceId, erased, reason);
            }
        }
        catch (Exception ex)
        {
            LogTableEraseFailed(logger, ex, DeviceId);
        }
    }

    [LoggerMessage(EventId = 2032, Level = LogLevel.Information, Message = "{Count} stored DTLS session(s) of device {DeviceId} erased from the session table ({Reason})")]
    private static partial void LogTableSessionsErased(ILogger logger, string deviceId, int count, string reason);

    [LoggerMessage(EventId = 2033, Level = LogLevel.Warning, Message = "Could not erase the session-table rows of device {DeviceId}; its stored sessions stay until they expire")]
    private static partial void LogTableEraseFailed(ILogger logger, Exception ex, string deviceId);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Information, Message = "Stored DTLS session {ConnectionId} of device {DeviceId} erased ({Reason})")]
    private static partial void LogSessionErased(ILogger logger, string deviceId, string connectionId, string reason);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Warning, Message = "Could not erase stored DTLS session {ConnectionId} of device {DeviceId}; no takeover can use it (its twin no longer lists it)")]
    private static partial void LogSessionEraseFailed(ILogger logger, Exception ex, string deviceId, string connectionId);
}
