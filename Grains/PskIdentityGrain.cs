namespace NHub.Grains;

/// <summary>Index PSK identity → device. The key material stays in the device grain (encrypted at rest).</summary>
public sealed class PskIdentityGrain(
    [PersistentState("psk-identity", GrainStorageNames.Default)] IPersistentState<PskIdentityState> state) : Grain, IPskIdentityGrain
{
    public async Task<bool> Bind(string deviceId, Guid credentialId)
    {
        if (state.State.DeviceId is { } bound && !string.Equals(bound, deviceId, StringComparison.Ordinal))
        {
            // Still bound to another device: allowed only if that device no longer owns the identity.
            var other = await GrainFactory.GetGrain<IDeviceGrain>(bound).GetPsk(this.GetPrimaryKeyString());
            if (other is { Status: CredentialStatus.Active })
            {
                return false;
            }
        }
        state.State.DeviceId = deviceId;
        state.State.CredentialId = credentialId;
        await state.WriteStateAsync();
        return true;
    }

    public async Task<KeyBindOutcome> BindKey(string deviceId, Guid credentialId)
    {
        if (state.State.Revoked)
        {
            return KeyBindOutcome.Revoked;
        }
        return await Bind(deviceId, credentialId) ? KeyBindOutcome.Bound : KeyBindOutcome.BoundToAnotherDevice;
    }

    public async Task MarkRevoked()
    {
        if (!state.State.Revoked)
        {
            state.State.Revoked = true;
            await state.WriteStateAsync();
        }
    }

    public async Task Unbind()
    {
        if (state.State.DeviceId is not null && !state.State.Revoked)
        {
            await state.ClearStateAsync();
        }
    }

    public async Task<PskLookup?> Lookup() =>
        state.State.DeviceId is { } deviceId
            ? await GrainFactory.GetGrain<IDeviceGrain>(deviceId).GetPsk(this.GetPrimaryKeyString())
            : null;
}
