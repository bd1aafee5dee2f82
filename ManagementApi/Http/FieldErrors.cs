using System.Buffers;

namespace NHub.ManagementApi.Http;

/// <summary>Collects validation errors keyed by snake_case field name, for a 400 problem with <c>errors</c>.</summary>
internal sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }
        list.Add(message);
    }

    /// <summary>A required identifier: "is required" when absent or empty, else <paramref name="rule"/> when <paramref name="isValid"/> refuses it.</summary>
    public void Identifier(string field, string? value, Func<string, bool> isValid, string rule)
    {
        if (string.IsNullOrEmpty(value))
        {
            Add(field, "is required");
        }
        else if (!isValid(value))
        {
            Add(field, rule);
        }
    }

    /// <summary>Free text (model, serial, ...): at most <paramref name="max"/> characters, no control characters.</summary>
    public void Text(string field, string? value, int max)
    {
        if (value is null)
        {
            return;
        }
        if (value.Length > max)
        {
            Add(field, $"must be at most {max} characters");
        }
        if (value.AsSpan().ContainsAny(ControlCharacters))
        {
            Add(field, "must not contain control characters");
        }
    }

    public ProblemHttpResult ToProblem() => Problems.Validation(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));

    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        Enumerable.Range(0, 0x20).Select(i => (char)i).Append('\u007f').ToArray());
}

/// <summary>Identifier rules shared by routes and bodies.</summary>
internal static class Identifiers
{
    public const string DeviceIdRule = "must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'";
    public const string FirmwareVersionRule = FirmwareVersions.Rule;
    public const string CommandNameRule = "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'";

    /// <summary>A device id from the route: 400 with <c>errors.device_id</c> when it cannot be one.</summary>
    public static ProblemHttpResult? CheckDeviceId(string deviceId) =>
        DeviceIds.IsValid(deviceId) ? null : Problems.Field("device_id", DeviceIdRule);

    public static bool IsValidFirmwareVersion(string? version) => FirmwareVersions.IsValid(version);

    public static bool IsValidCommandName(string? name) => FirmwareVersions.IsValidCommandName(name);
}
