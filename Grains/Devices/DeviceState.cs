namespace NHub.Grains.Devices;

/// <summary>
/// Persisted state of a device twin. Written on every change the platform promises to keep (record, credentials,
/// commands, firmware progress, online/offline transitions) but not on every telemetry message: last_seen is
/// written at most every <see cref="DeviceOptions.LastSeenPersistInterval"/>.
/// </summary>
[GenerateSerializer, Alias("nhub.DeviceState")]
public sealed class DeviceState
{
    [Id(0)] public DeviceRecord? Record { get; set; }
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    [Id(2)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(3)] public List<CredentialState> Credentials { get; set; } = [];
    [Id(4)] public bool Online { get; set; }
    [Id(5)] public DateTimeOffset? LastSeen { get; set; }
    [Id(6)] public string? LastPeerAddress { get; set; }
    [Id(7)] public DeviceTransport LastTransport { get; set; }
    [Id(8)] public List<CommandState> Commands { get; set; } = [];
    [Id(9)] public Guid? ObserverGateway { get; set; }
    [Id(10)] public FirmwareProgress? Firmware { get; set; }
    /// <summary>Created by development auto-provisioning (a plain-CoAP request for an unknown id), not by the portal.</summary>
    [Id(11)] public bool AutoProvisioned { get; set; }
    /// <summary>
    /// The commands Observe relation (null: none). Set and cleared together with <see cref="ObserverGateway"/>, which
    /// equals its gateway id (kept for state written before relations were persisted).
    /// </summary>
    [Id(12)] public CommandObservation? Observation { get; set; }
    /// <summary>Counts resumes of <see cref="Observation"/> since its registration: the Observe sequence hint (<see cref="ResumedObservation.ObserveSequence"/>).</summary>
    [Id(13)] public int ObservationResumes { get; set; }
    /// <summary>Stored DTLS sessions of this device, oldest first, at most <see cref="DeviceOptions.MaxDtlsSessions"/>.</summary>
    [Id(14)] public List<DtlsSessionRef> DtlsSessions { get; set; } = [];
}

[GenerateSerializer, Alias("nhub.CredentialState")]
public sealed class CredentialState
{
    [Id(0)] public Guid Id { get; set; }
    [Id(1)] public string PskIdentity { get; set; } = "";
    [Id(2)] public PskFormat PskFormat { get; set; }
    /// <summary>The PSK bytes, encrypted with the master key (<see cref="Services.CredentialProtector"/>).</summary>
    [Id(3)] public byte[] ProtectedKey { get; set; } = [];
    [Id(4)] public CredentialStatus Status { get; set; }
    [Id(5)] public DateTimeOffset CreatedAt { get; set; }
    [Id(6)] public DateTimeOffset? RevokedAt { get; set; }
    /// <summary><see cref="CredentialAuthTypes"/>; null in states written before certificates existed (psk).</summary>
    [Id(7)] public string? AuthType { get; set; }
    [Id(8)] public string? Fingerprint { get; set; }
    [Id(9)] public string? Subject { get; set; }
    [Id(10)] public DateTimeOffset? NotAfter { get; set; }
    [Id(11)] public CredentialSource? Source { get; set; }

    public string EffectiveAuthType => AuthType ?? CredentialAuthTypes.Psk;

    public CredentialSummary ToSummary() => new(Id, EffectiveAuthType, PskIdentity, PskFormat, Status, CreatedAt, RevokedAt, Fingerprint, Subject, NotAfter, Source);
}

[GenerateSerializer, Alias("nhub.CommandState")]
public sealed class CommandState
{
    [Id(0)] public Guid Id { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public string? ParamsJson { get; set; }
    [Id(3)] public CommandStatus Status { get; set; }
    [Id(4)] public DateTimeOffset CreatedAt { get; set; }
    [Id(5)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(6)] public DateTimeOffset? SentAt { get; set; }
    [Id(7)] public DateTimeOffset? DeliveredAt { get; set; }

    public bool IsPending => Status is CommandStatus.Queued or CommandStatus.Sent;

    public CommandInfo ToInfo() => new(Id, Name, ParamsJson, Status, CreatedAt, ExpiresAt, SentAt, DeliveredAt);
}
