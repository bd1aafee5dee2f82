namespace NHub.Grains;

/// <summary>
/// The twin of one device, keyed by device id: its record, credentials, online status, pending commands and
/// firmware progress. Knows nothing of CoAP or DTLS. Methods on an unknown (never provisioned or deleted)
/// device return null / an "unknown" outcome rather than creating it.
/// </summary>
[Alias("nhub.IDeviceGrain")]
public interface IDeviceGrain : IGrainWithStringKey
{
    /// <summary>Creates the device, or replaces its record if it exists. Durable when the call returns.</summary>
    [Alias("Provision")]
    Task<DeviceTwin> Provision(DeviceRecord record);

    /// <summary>Creates the device if it does not exist (atomically: of two racing creates one wins); null when it already exists.</summary>
    [Alias("Create")]
    Task<DeviceTwin?> Create(DeviceRecord record);

    /// <summary>Applies a partial change to the record atomically (two concurrent patches of different fields both land); null when the device does not exist.</summary>
    [Alias("Update")]
    Task<DeviceTwin?> Update(DeviceRecordPatch patch);

    /// <summary>The twin, or null when the device does not exist.</summary>
    [Alias("GetTwin")]
    Task<DeviceTwin?> GetTwin();

    /// <summary>
    /// Creates the device with an empty record, marked auto-provisioned (docs/device-guide.md), and publishes an
    /// <c>auto_provisioned</c> event. False when it already exists. Called by <see cref="IAutoProvisioningGrain"/> only,
    /// which enforces the cap.
    /// </summary>
    [Alias("AutoProvision")]
    Task<bool> AutoProvision(string peerAddress, DeviceTransport transport);

    /// <summary>Revokes every credential (closing live sessions), erases its stored DTLS sessions, cancels pending commands and forgets the device.</summary>
    [Alias("Delete")]
    Task<bool> Delete();

    /// <summary>
    /// Issues a PSK credential; the key is in this response only. The PSK identity is <c>&lt;prefix&gt;-&lt;device_id&gt;</c>,
    /// so a device has at most one active credential: issuing while one is active is refused
    /// (<see cref="IssueOutcome.ActiveCredentialExists"/>); rotation is revoke, then issue.
    /// </summary>
    [Alias("IssueCredential")]
    Task<IssueCredentialResult> IssueCredential(PskFormat format);

    /// <summary>
    /// Registers a device's own certificate (pinned by fingerprint) or raw public key (RFC 7250). A device may hold
    /// several (rotation with overlap, a PSK beside them). <see cref="IssueOutcome.DuplicateCredential"/> when the same
    /// key is already registered here (active or revoked: a revoked key stays revoked),
    /// <see cref="IssueOutcome.BoundToAnotherDevice"/> when another device holds it.
    /// </summary>
    [Alias("RegisterKeyCredential")]
    Task<IssueCredentialResult> RegisterKeyCredential(KeyCredentialFacts facts);

    /// <summary>
    /// Called by a gateway when the device authenticated with a certificate chaining to a registered authority that
    /// the twin did not know yet: records it as a credential (source <see cref="CredentialSource.CertificateAuthority"/>)
    /// so that it is listed and can be revoked like any other.
    /// </summary>
    [Alias("EnrollCertificate")]
    Task<EnrollOutcome> EnrollCertificate(KeyCredentialFacts facts);

    /// <summary>Credentials without key material; null when the device does not exist.</summary>
    [Alias("ListCredentials")]
    Task<IReadOnlyList<CredentialSummary>?> ListCredentials();

    /// <summary>Revokes one credential, erases the stored DTLS sessions of its identity and pushes the revocation to every gateway. False when not found.</summary>
    [Alias("RevokeCredential")]
    Task<bool> RevokeCredential(Guid credentialId);

    /// <summary>Key material for a DTLS handshake (called by the identity index grain only).</summary>
    [Alias("GetPsk")]
    Task<PskLookup?> GetPsk(string pskIdentity);

    /// <summary>Publishes one telemetry message. <see cref="TelemetryOutcome.Accepted"/> means durably accepted.</summary>
    [Alias("ReportTelemetry")]
    Task<TelemetryResult> ReportTelemetry(TelemetryReport report);

    /// <summary>The most recent telemetry messages, newest first (bounded buffer kept by the twin).</summary>
    [Alias("GetRecentTelemetry")]
    Task<IReadOnlyList<TelemetryEntry>?> GetRecentTelemetry(int limit);

    /// <summary>
    /// Queues a command (durable before it returns) and pushes it to the observing gateway, if any. Null when the
    /// device does not exist. Throws <see cref="ArgumentException"/> for an empty name or a TTL out of range, and
    /// <see cref="InvalidOperationException"/> when the device already has the maximum of pending commands.
    /// </summary>
    [Alias("EnqueueCommand")]
    Task<CommandInfo?> EnqueueCommand(CommandRequest request);

    /// <summary>Commands with their statuses, newest first; null when the device does not exist.</summary>
    [Alias("ListCommands")]
    Task<IReadOnlyList<CommandInfo>?> ListCommands();

    [Alias("CancelCommand")]
    Task<CancelOutcome> CancelCommand(Guid commandId);

    /// <summary>
    /// The device registered an Observe relation on its commands resource at gateway <see cref="CommandObservation.GatewayId"/>.
    /// The relation is persisted with the twin (replacing any earlier one) so that another gateway can resume it
    /// (<see cref="ResumeObservingCommands"/>). Returns the commands not yet delivered (now marked sent) for the
    /// initial notification; null when unknown. Later commands are pushed to that gateway (<see cref="IGatewayGrain.PushCommands"/>).
    /// Throws <see cref="ArgumentException"/> for a token longer than 8 bytes.
    /// </summary>
    [Alias("ObserveCommands")]
    Task<IReadOnlyList<CommandInfo>?> ObserveCommands(CommandObservation observation);

    /// <summary>
    /// Gateway <paramref name="gatewayId"/> now holds the DTLS session <paramref name="sessionKey"/> (it took it over):
    /// when the persisted relation was registered by that session, it moves to that gateway (durable when the call
    /// returns; later commands are pushed there) and the relation comes back with every command not yet delivered.
    /// Null when the device is unknown, has no relation, or the relation belongs to another session.
    /// </summary>
    [Alias("ResumeObservingCommands")]
    Task<ResumedObservation?> ResumeObservingCommands(Guid gatewayId, string sessionKey);

    /// <summary>
    /// The relation at <paramref name="gatewayId"/> ended (deregistration, RST, failed notification). No-op when the
    /// relation is held by another gateway (it moved there).
    /// </summary>
    [Alias("StopObservingCommands")]
    Task StopObservingCommands(Guid gatewayId);

    /// <summary>The device acknowledged notifications carrying these commands.</summary>
    [Alias("CommandsDelivered")]
    Task CommandsDelivered(IReadOnlyList<Guid> commandIds);

    /// <summary>A notification carrying these commands was not acknowledged: they go back to queued.</summary>
    [Alias("CommandsNotDelivered")]
    Task CommandsNotDelivered(IReadOnlyList<Guid> commandIds);

    /// <summary>Throttled firmware download progress from the serving gateway. False when the device does not exist.</summary>
    [Alias("ReportFirmwareProgress")]
    Task<bool> ReportFirmwareProgress(FirmwareBlockReport report);

    [Alias("GetFirmwareProgress")]
    Task<FirmwareProgress?> GetFirmwareProgress();

    /// <summary>
    /// Records the DTLS session stored under <paramref name="connectionId"/> (its <see cref="IDtlsSessionGrain"/> key)
    /// so that revoking <paramref name="pskIdentity"/> or deleting the device erases it. Called by the session grain
    /// only. False (nothing recorded) when the device does not exist or the identity is not one of its active
    /// credentials. The twin keeps the newest sessions (Devices:MaxDtlsSessions, 16 by default) and erases older ones.
    /// </summary>
    [Alias("AddDtlsSession")]
    Task<bool> AddDtlsSession(string connectionId, string pskIdentity);

    /// <summary>True when the session is recorded and its credential is still active (the session grain asks before every takeover).</summary>
    [Alias("HasDtlsSession")]
    Task<bool> HasDtlsSession(string connectionId);

    /// <summary>Forgets a session (its grain erased it). No-op when it is not recorded.</summary>
    [Alias("RemoveDtlsSession")]
    Task RemoveDtlsSession(string connectionId);
}
