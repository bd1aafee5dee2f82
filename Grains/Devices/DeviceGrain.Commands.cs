using Microsoft.Extensions.Logging;
using NHub.Grains.Services;

namespace NHub.Grains.Devices;

/// <summary>
/// Command lifecycle: queued → sent (handed to the observing gateway) → delivered (the device ACKed the notification);
/// expired when the TTL passes first; cancelled by the portal. A command is persisted before it is pushed, so a
/// gateway or silo restart never loses it; one not yet delivered is sent again when the device next registers.
/// </summary>
public sealed partial class DeviceGrain
{
    public async Task<CommandInfo?> EnqueueCommand(CommandRequest request)
    {
        if (!Exists)
        {
            return null;
        }
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            throw new ArgumentException("Command name is required", nameof(request));
        }
        if (request.TtlSeconds < 1 || request.TtlSeconds > _options.MaxCommandTtlSeconds)
        {
            throw new ArgumentOutOfRangeException(nameof(request), $"ttl_seconds must be between 1 and {_options.MaxCommandTtlSeconds}");
        }
        var now = time.GetUtcNow();
        ExpireStaleCommands(now);
        var pending = 0;
        foreach (var c in state.State.Commands)
        {
            pending += c.IsPending ? 1 : 0;
        }
        if (pending >= _options.MaxPendingCommands)
        {
            throw new InvalidOperationException($"Device '{DeviceId}' already has {pending} pending commands (Devices:MaxPendingCommands)");
        }

        var command = new CommandState
        {
            Id = Guid.NewGuid(),
            Name = request.Name,
            ParamsJson = request.ParamsJson,
            Status = CommandStatus.Queued,
            CreatedAt = now,
            ExpiresAt = now.AddSeconds(request.TtlSeconds),
        };
        var gateway = state.State.ObserverGateway;
        if (gateway is not null)
        {
            command.Status = CommandStatus.Sent;
            command.SentAt = now;
        }
        state.State.Commands.Add(command);
        TrimCommandHistory();
        await state.WriteStateAsync();

        if (gateway is { } gatewayId && !await PushAsync(gatewayId, [command.ToInfo()]))
        {
            // Not handed over: back to queued, delivered when the device next registers.
            command.Status = CommandStatus.Queued;
            command.SentAt = null;
            await state.WriteStateAsync();
        }
        await SyncPendingWorkAsync();
        return command.ToInfo();
    }

    public Task<IReadOnlyList<CommandInfo>?> ListCommands()
    {
        if (!Exists)
        {
            return Task.FromResult<IReadOnlyList<CommandInfo>?>(null);
        }
        ExpireStaleCommands(time.GetUtcNow());
        var list = new List<CommandInfo>(state.State.Commands.Count);
        for (var i = state.State.Commands.Count - 1; i >= 0; i--)
        {
            list.Add(state.State.Commands[i].ToInfo());
        }
        return Task.FromResult<IReadOnlyList<CommandInfo>?>(list);
    }

    public async Task<CancelOutcome> CancelCommand(Guid commandId)
    {
        var command = state.State.Commands.Find(c => c.Id == commandId);
        if (!Exists || command is null)
        {
            return CancelOutcome.NotFound;
        }
        ExpireStaleCommands(time.GetUtcNow());
        if (!command.IsPending)
        {
            return CancelOutcome.NotPending;
        }
        command.Status = CommandStatus.Cancelled;
        await state.WriteStateAsync();
        await SyncPendingWorkAsync();
        return CancelOutcome.Cancelled;
    }

    public async Task<IReadOnlyList<CommandInfo>?> ObserveCommands(CommandObservation observation)
    {
        if (observation.Token is not { Length: <= MaxTokenLength })
        {
            throw new ArgumentException($"An Observe token is at most {MaxTokenLength} bytes (RFC 7252 §5.3.1)", nameof(observation));
        }
        if (!Exists)
        {
            return null;
        }
        var now = time.GetUtcNow();
        ExpireStaleCommands(now);
        SetObservation(observation with { Token = (byte[])observation.Token.Clone() });
        // A new relation: its gateway numbers notifications from 0 (the registration response), so resumes count from 0.
        state.State.ObservationResumes = 0;
        var pending = MarkUndeliveredSent(now);
        await MarkSeenAsync(observation.PeerAddress, observation.Transport, now);
        await state.WriteStateAsync();
        await SyncPendingWorkAsync();
        return pending;
    }

    public async Task<ResumedObservation?> ResumeObservingCommands(Guid gatewayId, string sessionKey)
    {
        if (!Exists || state.State.Observation is not { SessionKey: { } registeredBy } observation
            || !string.Equals(registeredBy, sessionKey, StringComparison.Ordinal))
        {
            return null;
        }
        var now = time.GetUtcNow();
        ExpireStaleCommands(now);
        SetObservation(observation with { GatewayId = gatewayId });
        state.State.ObservationResumes++;
        var pending = MarkUndeliveredSent(now);
        // Persisted before the relation is handed out: a command enqueued from now on is pushed to the new gateway,
        // and a crash after this write finds the relation where the device now is.
        await state.WriteStateAsync();
        await SyncPendingWorkAsync();
        return new ResumedObservation((byte[])observation.Token.Clone(), observation.ContentFormat, ObserveSequenceHint(state.State.ObservationResumes), pending);
    }

    public async Task StopObservingCommands(Guid gatewayId)
    {
        // Only the gateway holding the relation ends it: one it has moved away from reports too late.
        if (state.State.ObserverGateway == gatewayId)
        {
            SetObservation(null);
            await state.WriteStateAsync();
        }
    }

    /// <summary>RFC 7252 §5.3.1: tokens are 0 to 8 bytes.</summary>
    private const int MaxTokenLength = 8;

    /// <summary>
    /// RFC 7641 §3.4 and §4.4: a client keeps a notification only if its 24-bit Observe value is ahead of the last one
    /// in serial-number order (by less than 2^23), or more than 128 s passed. The gateway that took the registration
    /// numbers from 0; the n-th resume starts at n·2^16 (mod 2^24), which is ahead of every value the previous holder
    /// used as long as it sent fewer than 2^16 notifications, and stays ahead across the wrap-around.
    /// </summary>
    private static int ObserveSequenceHint(int resumes) => (resumes << 16) & 0xFFFFFF;

    private void SetObservation(CommandObservation? observation)
    {
        state.State.Observation = observation;
        state.State.ObserverGateway = observation?.GatewayId;
    }

    /// <summary>
    /// Every pending command, the queued ones now marked sent. Sent ones are included again: nothing says the device
    /// got them (an ACK marks them delivered, and a delivered command is never sent again).
    /// </summary>
    private List<CommandInfo> MarkUndeliveredSent(DateTimeOffset now)
    {
        var pending = new List<CommandInfo>();
        foreach (var c in state.State.Commands)
        {
            if (c.IsPending)
            {
                c.Status = CommandStatus.Sent;
                c.SentAt = now;
                pending.Add(c.ToInfo());
            }
        }
        return pending;
    }

    public async Task CommandsDelivered(IReadOnlyList<Guid> commandIds)
    {
        var now = time.GetUtcNow();
        var delivered = new List<CommandState>();
        foreach (var id in commandIds)
        {
            var c = state.State.Commands.Find(x => x.Id == id);
            if (c is not null && c.IsPending)
            {
                c.Status = CommandStatus.Delivered;
                c.DeliveredAt = now;
                delivered.Add(c);
            }
        }
        if (delivered.Count == 0)
        {
            return;
        }
        await state.WriteStateAsync();
        await SyncPendingWorkAsync();
        foreach (var c in delivered)
        {
            await events.PublishAsync(new DeviceEvent(DeviceId, DeviceEventTypes.CommandDelivered, now,
                new Dictionary<string, object?> { ["command_id"] = c.Id, ["name"] = c.Name }));
        }
    }

    public async Task CommandsNotDelivered(IReadOnlyList<Guid> commandIds)
    {
        var changed = false;
        foreach (var id in commandIds)
        {
            var c = state.State.Commands.Find(x => x.Id == id);
            if (c is { Status: CommandStatus.Sent })
            {
                c.Status = CommandStatus.Queued;
                c.SentAt = null;
                changed = true;
            }
        }
        if (changed)
        {
            await state.WriteStateAsync();
        }
    }

    /// <summary>Hands the commands to the gateway holding the relation (<see cref="IGatewayGrain"/>); false when it is gone.</summary>
    private async Task<bool> PushAsync(Guid gatewayId, IReadOnlyList<CommandInfo> commands)
    {
        try
        {
            return await GrainFactory.GetGrain<IGatewayGrain>(gatewayId).PushCommands(new DownlinkCommands(DeviceId, commands));
        }
        catch (Exception ex)
        {
            LogPushFailed(logger, ex, DeviceId, gatewayId);
            return false;
        }
    }

    /// <summary>Pending commands whose TTL has passed become expired (evaluated lazily on every command operation).</summary>
    private void ExpireStaleCommands(DateTimeOffset now)
    {
        foreach (var c in state.State.Commands)
        {
            if (c.IsPending && c.ExpiresAt <= now)
            {
                c.Status = CommandStatus.Expired;
            }
        }
    }

    /// <summary>Keeps every pending command and the newest finished ones, up to the configured history.</summary>
    private void TrimCommandHistory()
    {
        var commands = state.State.Commands;
        var finished = 0;
        foreach (var c in commands)
        {
            finished += c.IsPending ? 0 : 1;
        }
        var excess = finished - _options.CommandHistoryLimit;
        for (var i = 0; i < commands.Count && excess > 0;)
        {
            if (!commands[i].IsPending)
            {
                commands.RemoveAt(i);
                excess--;
            }
            else
            {
                i++;
            }
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Could not push commands of device {DeviceId} to gateway {GatewayId}")]
    private static partial void LogPushFailed(ILogger logger, Exception ex, string deviceId, Guid gatewayId);
}
