using Microsoft.Extensions.Logging;

namespace NHub.Grains;

[GenerateSerializer, Alias("nhub.AutoProvisioningState")]
public sealed class AutoProvisioningState
{
    /// <summary>The devices auto-provisioning created that still exist (at most the cap, so the state stays small).</summary>
    [Id(0)] public HashSet<string> DeviceIds { get; set; } = [];
}

/// <summary>
/// Enforces <see cref="AutoProvisionOptions.AutoProvisionMaxDevices"/> across the cluster. Creation of new devices goes
/// through this one activation, which is fine: it happens once per device, never per message. Whether to
/// auto-provision at all is the gateway's decision (<see cref="AutoProvisionOptions.IsEnabled"/> for its host).
/// </summary>
public sealed partial class AutoProvisioningGrain(
    [PersistentState("auto-provisioning", GrainStorageNames.Default)] IPersistentState<AutoProvisioningState> state,
    Microsoft.Extensions.Options.IOptions<AutoProvisionOptions> options,
    ILogger<AutoProvisioningGrain> logger) : Grain, IAutoProvisioningGrain
{
    private bool _capLogged;

    public async Task<AutoProvisionOutcome> Provision(string deviceId, string peerAddress, DeviceTransport transport)
    {
        var max = options.Value.AutoProvisionMaxDevices;
        var ids = state.State.DeviceIds;
        if (!ids.Contains(deviceId) && ids.Count >= max)
        {
            // The device may exist all the same (provisioned through the API meanwhile): the caller retries its call first.
            if (!_capLogged)
            {
                _capLogged = true;
                LogCapReached(logger, max, deviceId);
            }
            return AutoProvisionOutcome.CapReached;
        }
        var created = await GrainFactory.GetGrain<IDeviceGrain>(deviceId).AutoProvision(peerAddress, transport);
        if (created && ids.Add(deviceId))
        {
            await state.WriteStateAsync();
        }
        return AutoProvisionOutcome.Provisioned;
    }

    public async Task Released(string deviceId)
    {
        if (state.State.DeviceIds.Remove(deviceId))
        {
            _capLogged = false;
            await state.WriteStateAsync();
        }
    }

    public Task<int> Count() => Task.FromResult(state.State.DeviceIds.Count);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Auto-provisioning cap reached ({Max} devices, Devices:AutoProvisionMaxDevices): unknown device {DeviceId} and later ones are answered 4.04")]
    private static partial void LogCapReached(ILogger logger, int max, string deviceId);
}
