using NHub.Gateway.Backend;
using NHub.Gateway.Coap;
using NHub.ServiceDefaults;

namespace NHub.Gateway.Resources;

/// <summary>What the gateway keeps with a device's Observe relation on its commands: notified but not yet acknowledged.</summary>
public sealed class CommandRelationState(string deviceId, int contentFormat)
{
    public string DeviceId { get; } = deviceId;
    public int ContentFormat { get; } = contentFormat;
    public Lock Gate { get; } = new();

    /// <summary>Commands sent to the device whose notification has not been acknowledged yet (re-sent with newer ones).</summary>
    public List<CommandInfo> Unacknowledged { get; } = [];
}

/// <summary>
/// GET /commands/{device_id} with Observe (docs/commands.md): registration returns every undelivered command (sent as
/// a confirmable separate response when there are any, so the device's ACK marks them delivered); later commands
/// arrive through <see cref="Backend.DownlinkListener"/> as confirmable notifications.
/// </summary>
public sealed partial class CommandsResource(DeviceGrainReferences devices, DeviceIdentityResolver identities, AutoProvisioner autoProvisioner, GatewayIdentity gateway,
    ILogger<CommandsResource> logger)
{
    public static readonly ResourceDescription Description = new("Downlink commands", "nhub.commands", ContentFormat: ContentFormats.Json, Observable: true);

    public static string ResourcePath(string deviceId) => "/commands/" + deviceId;

    public async ValueTask<CoapResponse> GetAsync(CoapRequestContext<PeerInfo> ctx)
    {
        var deviceId = ctx.RouteValues["device_id"];
        var (authenticated, authenticatedDevice) = await identities.ResolveAsync(ctx.Peer, ctx.Aborted);
        if (authenticated && authenticatedDevice is null)
        {
            return CoapResponse.Text(CoapCode.Unauthorized, "the credential of this DTLS session is no longer valid");
        }
        if (authenticated && !string.Equals(authenticatedDevice, deviceId, StringComparison.Ordinal))
        {
            return CoapResponse.Text(CoapCode.Forbidden, $"this session is authenticated as device {authenticatedDevice}, not {deviceId}");
        }
        if (!DeviceIds.IsValid(deviceId))
        {
            return CoapResponse.Text(CoapCode.BadRequest, "invalid device id");
        }
        var format = ctx.Request.Accept ?? ContentFormats.Json;
        if (format is not (ContentFormats.Json or ContentFormats.Cbor))
        {
            return CoapResponse.Text(CoapCode.NotAcceptable, "Accept must be 50 (application/json) or 60 (application/cbor)");
        }
        PlatformTracing.TagDevice(deviceId);
        if (!authenticated && autoProvisioner.KnownMissing(deviceId, ctx.Peer))
        {
            return AutoProvisioner.NotProvisioned(deviceId);
        }
        var device = devices.Get(deviceId);

        if (!ctx.IsObserveRegistration)
        {
            // A plain GET (which also cancelled any relation of this client): the pending commands, no delivery.
            var all = await device.ListCommands();
            if (all is null && !authenticated)
            {
                if (await autoProvisioner.TryProvisionAsync(deviceId, ctx.Peer) is { } refused)
                {
                    return refused;
                }
                all = await device.ListCommands();
            }
            if (all is null)
            {
                return AutoProvisioner.NotProvisioned(deviceId);
            }
            var pending = all.Where(c => c.Status is CommandStatus.Queued or CommandStatus.Sent).Reverse().ToList();
            return new CoapResponse(CoapCode.Content) { ContentFormat = format, Payload = CommandPayloads.Encode(pending, format) };
        }

        var transport = ctx.Peer.Identity is not null ? DeviceTransport.Coaps : DeviceTransport.Coap;
        // Kept with the twin, so that a gateway taking over this DTLS session resumes the relation (docs/commands.md).
        var observation = new CommandObservation(gateway.Id, ctx.Peer.EndPoint.ToString(), transport, ctx.Peer.SessionKey, ctx.Request.Token.ToArray(), format);
        // From the moment the twin records the observation it pushes new commands here, but the server registers the
        // relation only after this handler returns: a push in between waits for it (WaitForRelationAsync) instead of
        // finding no relation and ending the device's observation at the twin.
        var arriving = RelationArriving(deviceId);
        var handedOver = false;
        try
        {
            var undelivered = await device.ObserveCommands(observation);
            if (undelivered is null && !authenticated)
            {
                if (await autoProvisioner.TryProvisionAsync(deviceId, ctx.Peer) is { } refused)
                {
                    return refused;
                }
                undelivered = await device.ObserveCommands(observation);
            }
            if (undelivered is null)
            {
                return AutoProvisioner.NotProvisioned(deviceId);
            }
            var state = new CommandRelationState(deviceId, format);
            state.Unacknowledged.AddRange(undelivered);
            var response = new CoapResponse(CoapCode.Content)
            {
                ContentFormat = format,
                Payload = CommandPayloads.Encode(undelivered, format),
                Observe = true,
                ObserveState = state,
                OnObserveRegistered = _ => RelationArrived(deviceId, arriving),
            };
            if (undelivered.Count > 0)
            {
                var ids = undelivered.Select(c => c.Id).ToList();
                response.OnDelivery = outcome => _ = ReportAsync(state, ids, outcome);
            }
            handedOver = true;
            return response;
        }
        finally
        {
            if (!handedOver)
            {
                RelationArrived(deviceId, arriving);
            }
        }
    }

    /// <summary>Devices whose relation is on its way here (a registration being answered, a session being resumed).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _arriving = new(StringComparer.Ordinal);

    private TaskCompletionSource RelationArriving(string deviceId)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _arriving[deviceId] = done;
        return done;
    }

    private void RelationArrived(string deviceId, TaskCompletionSource done)
    {
        _arriving.TryRemove(new KeyValuePair<string, TaskCompletionSource>(deviceId, done));
        done.TrySetResult();
    }

    /// <summary>
    /// A DTLS session that registered on another gateway (or on this one's previous process) continues here: the twin
    /// hands over the device's commands relation (token, format, an Observe value newer than any sent) and from now on
    /// pushes commands to this gateway; the relation is restored as if registered here, and every command not yet
    /// delivered goes out in one confirmable notification (RFC 7641 §4.5.2: it supersedes what the old gateway had in
    /// flight). Nothing when the device had no relation on that session.
    /// </summary>
    public async Task ResumeAsync(CoapEndpoint endpoint, PeerInfo peer)
    {
        string? deviceId = null;
        try
        {
            (_, deviceId) = await identities.ResolveAsync(peer, CancellationToken.None);
            if (deviceId is null)
            {
                return;
            }
            // Marked before the twin routes commands here, cleared once the relation is restored.
            var arriving = RelationArriving(deviceId);
            try
            {
                await ResumeCoreAsync(endpoint, peer, deviceId);
            }
            finally
            {
                RelationArrived(deviceId, arriving);
            }
        }
        catch (Exception ex)
        {
            LogResumeFailed(logger, ex, deviceId ?? peer.Identity ?? "?");
        }
    }

    /// <summary>
    /// Before the downlink listener decides a device has no relation here: a registration being answered or a resume
    /// of its session may be under way (the twin already routes commands here, the relation is not registered yet).
    /// </summary>
    public async Task WaitForRelationAsync(string deviceId)
    {
        if (_arriving.TryGetValue(deviceId, out var arriving))
        {
            // Bounded: the twin is waiting for this gateway to take the relation over.
            await Task.WhenAny(arriving.Task, Task.Delay(RelationWaitLimit));
        }
    }

    private static readonly TimeSpan RelationWaitLimit = TimeSpan.FromSeconds(5);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _movedAway = new(StringComparer.Ordinal);

    /// <summary>
    /// The device's session (and with it the relation) moved to another gateway: the twin keeps the relation for that
    /// gateway. Remembered for a while so that a command pushed here before the twin switched is handed back without
    /// ending the relation (<see cref="MovedAwayRecently"/>).
    /// </summary>
    public void RelationMovedAway(CommandRelationState state)
    {
        if (_movedAway.Count > 100_000)
        {
            _movedAway.Clear(); // bounded; forgetting only costs a relation the device registers again
        }
        _movedAway[state.DeviceId] = Environment.TickCount64;
    }

    /// <summary>True when a relation of <paramref name="deviceId"/> left this gateway with its session within the last ten minutes.</summary>
    public bool MovedAwayRecently(string deviceId) =>
        _movedAway.TryGetValue(deviceId, out var at) && Environment.TickCount64 - at < 600_000;

    private async Task ResumeCoreAsync(CoapEndpoint endpoint, PeerInfo peer, string deviceId)
    {
        var server = endpoint.Server;
        var device = devices.Get(deviceId);
        var resumed = await device.ResumeObservingCommands(gateway.Id, peer.SessionKey);
        if (resumed is null)
        {
            return;
        }
        var state = new CommandRelationState(deviceId, resumed.ContentFormat);
        state.Unacknowledged.AddRange(resumed.Commands);
        var relation = server.Observers.Restore(peer, resumed.Token, ResourcePath(deviceId), resumed.ContentFormat, (uint)resumed.ObserveSequence);
        if (relation is null)
        {
            // No room for another relation here: the commands wait for the device's next registration.
            await RelationEndedAsync(state);
            return;
        }
        relation.State = state;
        if (!endpoint.Transport.IsOpen(peer))
        {
            // The session moved on (or closed) while the twin answered: its relations were already removed, this one
            // would never be. It leaves as moved; the commands wait for whoever holds the session now.
            server.Observers.Remove(relation, RelationEndReason.Moved);
            return;
        }
        _movedAway.TryRemove(deviceId, out _);
        LogResumed(logger, deviceId, resumed.Commands.Count);
        if (resumed.Commands.Count > 0)
        {
            var ids = resumed.Commands.Select(c => c.Id).ToList();
            var notification = new CoapResponse(CoapCode.Content)
            {
                ContentFormat = resumed.ContentFormat,
                Payload = CommandPayloads.Encode(resumed.Commands, resumed.ContentFormat),
            };
            server.Notify(relation, notification, forceConfirmable: true, outcome => _ = ReportAsync(state, ids, outcome));
        }
    }

    /// <summary>Tells the grain how a notification carrying <paramref name="ids"/> ended. Superseded ones are carried by the newer notification.</summary>
    public async Task ReportAsync(CommandRelationState state, IReadOnlyList<Guid> ids, ConfirmableOutcome outcome)
    {
        var device = devices.Get(state.DeviceId);
        try
        {
            switch (outcome)
            {
                case ConfirmableOutcome.Acknowledged:
                    lock (state.Gate)
                    {
                        state.Unacknowledged.RemoveAll(c => ids.Contains(c.Id));
                    }
                    await device.CommandsDelivered(ids);
                    break;
                case ConfirmableOutcome.Reset or ConfirmableOutcome.TimedOut:
                    await device.CommandsNotDelivered(ids);
                    break;
            }
        }
        catch (Exception ex)
        {
            LogReportFailed(logger, ex, state.DeviceId, outcome);
        }
    }

    /// <summary>The relation ended: the grain stops routing commands here; unacknowledged ones go back to queued.</summary>
    public async Task RelationEndedAsync(CommandRelationState state)
    {
        List<Guid> ids;
        lock (state.Gate)
        {
            ids = state.Unacknowledged.Select(c => c.Id).ToList();
            state.Unacknowledged.Clear();
        }
        var device = devices.Get(state.DeviceId);
        try
        {
            await device.StopObservingCommands(gateway.Id);
            if (ids.Count > 0)
            {
                await device.CommandsNotDelivered(ids);
            }
        }
        catch (Exception ex)
        {
            LogReportFailed(logger, ex, state.DeviceId, ConfirmableOutcome.Cancelled);
        }
    }

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "Commands relation of {DeviceId} resumed here with its session; {Count} undelivered command(s) notified")]
    private static partial void LogResumed(ILogger logger, string deviceId, int count);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning, Message = "Could not resume the commands relation of {DeviceId}; the device gets its commands at its next registration")]
    private static partial void LogResumeFailed(ILogger logger, Exception ex, string deviceId);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "Could not report command delivery ({Outcome}) of device {DeviceId}")]
    private static partial void LogReportFailed(ILogger logger, Exception ex, string deviceId, ConfirmableOutcome outcome);
}
