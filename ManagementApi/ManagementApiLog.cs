namespace NHub.ManagementApi;

/// <summary>The management API's log events (ids 7000–7099). Keys never appear in them (the generated API key is in the start-up summary).</summary>
internal static partial class ManagementApiLog
{
    [LoggerMessage(7001, LogLevel.Information, "Management API rejected an API key for {Method} {Path}")]
    public static partial void ApiKeyRejected(ILogger logger, string method, string? path);

    [LoggerMessage(7010, LogLevel.Information, "Device {DeviceId} created")]
    public static partial void DeviceCreated(ILogger logger, string deviceId);

    [LoggerMessage(7011, LogLevel.Information, "Device {DeviceId} updated")]
    public static partial void DeviceUpdated(ILogger logger, string deviceId);

    [LoggerMessage(7012, LogLevel.Information, "Device {DeviceId} deleted")]
    public static partial void DeviceDeleted(ILogger logger, string deviceId);

    [LoggerMessage(7020, LogLevel.Information, "Credential {CredentialId} ({PskIdentity}) issued for device {DeviceId}")]
    public static partial void CredentialIssued(ILogger logger, string deviceId, Guid credentialId, string pskIdentity);

    [LoggerMessage(7021, LogLevel.Information, "Credential {CredentialId} of device {DeviceId} revoked")]
    public static partial void CredentialRevoked(ILogger logger, string deviceId, Guid credentialId);

    [LoggerMessage(7022, LogLevel.Information, "Certificate authority {AuthorityId} '{Subject}' (sha256 {Fingerprint}) trusted for device certificates")]
    public static partial void CertificateAuthorityAdded(ILogger logger, Guid authorityId, string subject, string fingerprint);

    [LoggerMessage(7023, LogLevel.Information, "Certificate authority {AuthorityId} no longer trusted")]
    public static partial void CertificateAuthorityRemoved(ILogger logger, Guid authorityId);

    [LoggerMessage(7030, LogLevel.Information, "Command {CommandId} '{CommandName}' queued for device {DeviceId}")]
    public static partial void CommandQueued(ILogger logger, string deviceId, Guid commandId, string commandName);

    [LoggerMessage(7031, LogLevel.Information, "Command {CommandId} of device {DeviceId} cancelled")]
    public static partial void CommandCancelled(ILogger logger, string deviceId, Guid commandId);

    [LoggerMessage(7040, LogLevel.Information, "Firmware {Version} stored ({Size} bytes, sha256 {Sha256})")]
    public static partial void FirmwareStored(ILogger logger, string version, long size, string sha256);

    [LoggerMessage(7041, LogLevel.Information, "Firmware {Version} deleted")]
    public static partial void FirmwareDeleted(ILogger logger, string version);

    [LoggerMessage(7090, LogLevel.Warning, "Management API request {Method} {Path} failed: the cluster did not answer")]
    public static partial void ClusterUnavailable(ILogger logger, Exception exception, string method, string? path);

    [LoggerMessage(7091, LogLevel.Error, "Management API request {Method} {Path} failed")]
    public static partial void Unhandled(ILogger logger, Exception exception, string method, string? path);
}
