using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using NHub.Grains.Services;

namespace NHub.Grains.Devices;

/// <summary>The twin of one device. Record and lifecycle here; credentials, telemetry, commands and firmware in the partial files.</summary>
public sealed partial class DeviceGrain(
    [PersistentState("device", GrainStorageNames.Default)] IPersistentState<DeviceState> state,
    TimeProvider time,
    IOptions<DeviceOptions> deviceOptions,
    IOptions<CredentialOptions> credentialOptions,
    IOptions<ReminderOptions> reminderOptions,
    CredentialProtector protector,
    ITelemetryPublisher telemetry,
    IDeviceEventPublisher events,
    IDeviceRegistry registry,
    IDtlsSessionEraser sessionTable,
    ILogger<DeviceGrain> logger) : Grain, IDeviceGrain, IRemindable, IIncomingGrainCallFilter
{
    private readonly DeviceOptions _options = deviceOptions.Value;

    private string DeviceId => this.GetPrimaryKeyString();

    private bool Exists => state.State.Record is not null;

    /// <summary>
    /// Every call to a device that does not exist (a typo, a fuzzer's random id, a deleted device) leaves nothing
    /// behind: the activation is collected right after the call instead of holding its memory until the idle
    /// collection age. Thousands of unknown ids then cost one storage read each and no lasting state.
    /// </summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        if (!Exists)
        {
            DeactivateOnIdle();
        }
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists && state.State.Online)
        {
            // The activation that armed the offline timer is gone (idle collection is prevented while online, so this
            // follows a silo failure): re-evaluate from last_seen.
            ArmOfflineTimer(time.GetUtcNow());
        }
        return Task.CompletedTask;
    }

    public async Task<DeviceTwin> Provision(DeviceRecord record)
    {
        if (!string.Equals(record.DeviceId, DeviceId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Record is for device '{record.DeviceId}', grain is '{DeviceId}'", nameof(record));
        }
        if (!DeviceIds.IsValid(record.DeviceId))
        {
            throw new ArgumentException($"Invalid device id '{record.DeviceId}'", nameof(record));
        }
        var now = time.GetUtcNow();
        if (!Exists)
        {
            state.State.CreatedAt = now;
        }
        state.State.Record = record;
        state.State.UpdatedAt = now;
        await state.WriteStateAsync();
        await registry.UpsertAsync(ToSummary(), CancellationToken.None);
        return ToTwin();
    }

    public async Task<DeviceTwin?> Create(DeviceRecord record) => Exists ? null : await Provision(record);

    public async Task<bool> AutoProvision(string peerAddress, DeviceTransport transport)
    {
        if (Exists)
        {
            return false;
        }
        if (!DeviceIds.IsValid(DeviceId))
        {
            throw new ArgumentException($"Invalid device id '{DeviceId}'");
        }
        var now = time.GetUtcNow();
        state.State.AutoProvisioned = true;
        await Provision(new DeviceRecord(DeviceId, null, null, null, null));
        LogAutoProvisioned(logger, DeviceId, peerAddress, transport);
        await events.PublishAsync(new DeviceEvent(DeviceId, DeviceEventTypes.AutoProvisioned, now,
            new Dictionary<string, object?> { ["peer"] = peerAddress, ["transport"] = transport.ToString().ToLowerInvariant() }));
        return true;
    }

    public async Task<DeviceTwin?> Update(DeviceRecordPatch patch) => Exists ? await Provision(patch.ApplyTo(state.State.Record!)) : null;

    public Task<DeviceTwin?> GetTwin()
    {
        if (!Exists)
        {
            return Task.FromResult<DeviceTwin?>(null);
        }
        ExpireStaleCommands(time.GetUtcNow());
        return Task.FromResult<DeviceTwin?>(ToTwin());
    }

    public async Task<bool> Delete()
    {
        if (!Exists)
        {
            return false;
        }
        var now = time.GetUtcNow();
        var identities = new List<string>();
        foreach (var credential in state.State.Credentials)
        {
            identities.Add(credential.PskIdentity);
            await MarkKeyRevokedAsync(credential); // a deleted device's keys stay refused if it is made again
            if (credential.Status == CredentialStatus.Active)
            {
                credential.Status = CredentialStatus.Revoked;
                credential.RevokedAt = now;
                await BroadcastRevocationAsync(credential, now);
            }
        }
        var autoProvisioned = state.State.AutoProvisioned;
        var sessions = ForgetDtlsSessions(null);
        await state.ClearStateAsync();
        state.State = new DeviceState();
        EraseSessionsInBackground(sessions, "device deleted");
        await EraseTableSessionsAsync(identities, wholeDevice: true, "device deleted");
        _offlineTimer?.Dispose();
        _offlineTimer = null;
        await StopOfflineWatchAsync();
        await registry.RemoveAsync(DeviceId, CancellationToken.None);
        await events.PublishAsync(new DeviceEvent(DeviceId, DeviceEventTypes.Deleted, now));
        if (autoProvisioned)
        {
            await GrainFactory.GetGrain<IAutoProvisioningGrain>(0).Released(DeviceId);
        }
        DeactivateOnIdle();
        return true;
    }

    private DeviceTwin ToTwin()
    {
        var s = state.State;
        var credentials = new List<CredentialSummary>(s.Credentials.Count);
        foreach (var c in s.Credentials)
        {
            credentials.Add(c.ToSummary());
        }
        return new DeviceTwin(s.Record!, s.CreatedAt, s.UpdatedAt,
            new DeviceConnectivity(s.Online, s.LastSeen, s.LastPeerAddress, s.LastTransport),
            credentials, PendingCommandCount(), s.Firmware, s.AutoProvisioned);
    }

    private DeviceSummary ToSummary()
    {
        var s = state.State;
        return new DeviceSummary(DeviceId, s.Record?.Model, s.Record?.Serial, s.Record?.Imei, s.Online, s.LastSeen, s.CreatedAt,
            s.LastTransport, PendingCommandCount(), FirmwareDownloading());
    }

    private int PendingCommandCount()
    {
        var pending = 0;
        foreach (var c in state.State.Commands)
        {
            pending += c.IsPending ? 1 : 0;
        }
        return pending;
    }

    /// <summary>The version of a download that started and has not completed; null when there is none.</summary>
    private string? FirmwareDownloading() => state.State.Firmware is { CompletedAt: null } f ? f.Version : null;

    /// <summary>What the registry last got from this activation (null: nothing yet, so the first change is written).</summary>
    private (int Pending, string? Firmware)? _registeredWork;

    /// <summary>
    /// Tells the registry the pending command count and firmware download after a change, only when they differ from
    /// what it last got: the fleet page filters on them without activating twins. Advisory like connectivity: a
    /// storage hiccup is logged, not thrown.
    /// </summary>
    private async Task SyncPendingWorkAsync()
    {
        var work = (PendingCommandCount(), FirmwareDownloading());
        if (_registeredWork == work)
        {
            return;
        }
        try
        {
            await registry.SetPendingWorkAsync(DeviceId, work.Item1, work.Item2, CancellationToken.None);
            _registeredWork = work;
        }
        catch (Exception ex)
        {
            LogRegistryWorkFailed(logger, ex, DeviceId);
        }
    }

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "Could not update the registry's pending work of device {DeviceId}")]
    private static partial void LogRegistryWorkFailed(ILogger logger, Exception ex, string deviceId);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Device {DeviceId} auto-provisioned (plain CoAP from {Peer} over {Transport}; Devices:AutoProvisionPlain)")]
    private static partial void LogAutoProvisioned(ILogger logger, string deviceId, string peer, DeviceTransport transport);
}
