using Orleans.Runtime;

namespace NHub.Grains;

/// <summary>Persisted state of a device twin.</summary>
[GenerateSerializer, Alias("nhub.DeviceState")]
public sealed class DeviceState
{
    [Id(0)] public DeviceRecord? Record { get; set; }
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    [Id(2)] public DateTimeOffset UpdatedAt { get; set; }
}

public sealed class DeviceGrain(
    [PersistentState("device", GrainStorageNames.Default)] IPersistentState<DeviceState> state,
    TimeProvider time) : Grain, IDeviceGrain
{
    public async Task<DeviceTwin> Provision(DeviceRecord record)
    {
        var deviceId = this.GetPrimaryKeyString();
        if (!string.Equals(record.DeviceId, deviceId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Record is for device '{record.DeviceId}', grain is '{deviceId}'", nameof(record));
        }
        var now = time.GetUtcNow();
        if (state.State.Record is null)
        {
            state.State.CreatedAt = now;
        }
        state.State.Record = record;
        state.State.UpdatedAt = now;
        await state.WriteStateAsync();
        return ToTwin(state.State);
    }

    public Task<DeviceTwin?> GetTwin() =>
        Task.FromResult(state.State.Record is null ? null : ToTwin(state.State));

    private static DeviceTwin ToTwin(DeviceState s) => new(s.Record!, s.CreatedAt, s.UpdatedAt);
}
