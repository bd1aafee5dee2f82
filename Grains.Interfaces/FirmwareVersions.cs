using System.Buffers;

namespace NHub.Grains;

/// <summary>
/// Firmware versions name a grain, a database row and the CoAP path <c>/firmware/{version}</c>, and reach all of
/// them from outside (a device's request, the portal's upload), so they are restricted to 1–64 characters of
/// [A-Za-z0-9._-], not "." or "..". Checked at every edge; nothing else ever sees another string.
/// </summary>
public static class FirmwareVersions
{
    public const int MaxLength = 64;

    public const string Rule = "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (not '.' or '..')";

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    public static bool IsValid(string? version) =>
        !string.IsNullOrEmpty(version) && version.Length <= MaxLength && !version.AsSpan().ContainsAnyExcept(Allowed) && version is not ("." or "..");

    /// <summary>Command names follow the same alphabet (they travel in CBOR and JSON, and are matched on devices).</summary>
    public static bool IsValidCommandName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && !name.AsSpan().ContainsAnyExcept(Allowed);
}
