namespace NHub.Grains.Embedded;

/// <summary>The registry's filter semantics (<see cref="DeviceQuery"/>), shared by every implementation's tests.</summary>
public static class DeviceQueryMatcher
{
    /// <summary>Search is a case-insensitive substring of device id, serial or IMEI; the id prefix is case-sensitive.</summary>
    public static bool Matches(DeviceSummary d, DeviceQuery q)
    {
        if (q.Online == OnlineFilter.Online && !d.Online)
        {
            return false;
        }
        if (q.Online == OnlineFilter.Offline && d.Online)
        {
            return false;
        }
        if (q.Transport is { } transport && d.Transport != transport)
        {
            return false;
        }
        if (q.PendingCommandsOnly && d.PendingCommands <= 0)
        {
            return false;
        }
        if (q.FirmwareDownloadingOnly && d.FirmwareDownloading is null)
        {
            return false;
        }
        if (!string.IsNullOrEmpty(q.IdPrefix) && !d.DeviceId.StartsWith(q.IdPrefix, StringComparison.Ordinal))
        {
            return false;
        }
        if (string.IsNullOrEmpty(q.Search))
        {
            return true;
        }
        return Contains(d.DeviceId, q.Search) || Contains(d.Serial, q.Search) || Contains(d.Imei, q.Search);
    }

    private static bool Contains(string? value, string search) =>
        value is not null && value.Contains(search, StringComparison.OrdinalIgnoreCase);
}
