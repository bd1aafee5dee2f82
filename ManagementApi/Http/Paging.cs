using System.Globalization;

namespace NHub.ManagementApi.Http;

/// <summary>The <c>offset</c> and <c>limit</c> query values of a list route, parsed into field errors rather than an empty 400.</summary>
internal static class Paging
{
    public static (int Offset, int Limit) Parse(FieldErrors errors, string? offset, string? limit, int defaultLimit, int maxLimit)
    {
        var from = 0;
        var size = defaultLimit;
        if (offset is not null && (!int.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out from) || from < 0))
        {
            errors.Add("offset", "must be an integer >= 0");
        }
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > maxLimit))
        {
            errors.Add("limit", $"must be an integer from 1 to {maxLimit}");
        }
        return (from, size);
    }
}
