namespace NHub.Grains;

/// <summary>
/// Device ids become part of PSK identities, NATS subjects (<c>nhub.telemetry.&lt;id&gt;</c>) and URIs, so they are
/// restricted to 1–64 characters of [A-Za-z0-9_-].
/// </summary>
public static class DeviceIds
{
    public const int MaxLength = 64;

    public static bool IsValid(string? deviceId)
    {
        if (string.IsNullOrEmpty(deviceId) || deviceId.Length > MaxLength)
        {
            return false;
        }
        foreach (var c in deviceId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }
        return true;
    }
}
