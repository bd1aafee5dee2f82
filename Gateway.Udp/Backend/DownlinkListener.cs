using NHub.Gateway.Coap;
using NHub.Gateway.Resources;

namespace NHub.Gateway.Backend;

/// <summary>
/// Commands a device grain pushed to this gateway (<see cref="GatewayObserver"/>): each is notified (confirmable) on
/// the device's Observe relation, together with any earlier commands not yet acknowledged (RFC 7641 §4.5.2: a newer
/// notification supersedes one in flight, so nothing it carried is lost).
/// </summary>
public sealed partial class DownlinkListener(IClusterClient cluster, GatewayIdentity gateway, CoapEndpoints endpoints, CommandsResource commands, ILogger<DownlinkListener> logger)
{
    public async Task OnCommandsAsync(DownlinkCommands downlink)
    {
        var resource = CommandsResource.ResourcePath(downlink.DeviceId);
        await commands.WaitForRelationAsync(downlink.DeviceId);
        var notified = false;
        foreach (var endpoint in endpoints.All)
        {
            foreach (var relation in endpoint.Server.Observers.ForResource(resource))
            {
                if (relation.State is not CommandRelationState state)
                {
                    continue;
                }
                List<CommandInfo> carried;
                lock (state.Gate)
                {
                    foreach (var c in downlink.Commands)
                    {
                        if (!state.Unacknowledged.Exists(u => u.Id == c.Id))
                        {
                            state.Unacknowledged.Add(c);
                        }
                    }
                    carried = [.. state.Unacknowledged];
                }
                var ids = carried.Select(c => c.Id).ToList();
                var notification = new CoapResponse(CoapCode.Content)
                {
                    ContentFormat = state.ContentFormat,
                    Payload = CommandPayloads.Encode(carried, state.ContentFormat),
                };
                notified |= endpoint.Server.Notify(relation, notification, forceConfirmable: true, outcome => _ = commands.ReportAsync(state, ids, outcome));
            }
        }
        if (!notified)
        {
            // The relation is gone (or was never here): hand the commands back, they go out at the next registration.
            LogNoRelation(logger, downlink.DeviceId);
            var device = cluster.GetGrain<IDeviceGrain>(downlink.DeviceId);
            await device.CommandsNotDelivered(downlink.Commands.Select(c => c.Id).ToList());
            if (!commands.MovedAwayRecently(downlink.DeviceId))
            {
                // Not when the relation left with its session: the twin is about to route to the gateway holding it
                // now, and ending the relation here would erase what that gateway resumes.
                await device.StopObservingCommands(gateway.Id);
            }
        }
    }

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "Commands for {DeviceId} arrived but it no longer observes here; returned to queued")]
    private static partial void LogNoRelation(ILogger logger, string deviceId);
}
