namespace NHub.ManagementApi.Endpoints;

/// <summary>Resource URLs for Location headers.</summary>
internal static class Links
{
    public static string Device(string deviceId) => $"{ManagementApiExtensions.Prefix}/devices/{deviceId}";

    public static string Credential(string deviceId, Guid credentialId) => $"{Device(deviceId)}/credentials/{credentialId}";

    public static string Command(string deviceId, Guid commandId) => $"{Device(deviceId)}/commands/{commandId}";

    public static string CertificateAuthority(Guid id) => $"{ManagementApiExtensions.Prefix}/certificate-authorities/{id}";

    public static string Firmware(string version) => $"{ManagementApiExtensions.Prefix}/firmware/{version}";
}
