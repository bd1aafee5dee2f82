using System.Globalization;
using System.Text.RegularExpressions;

namespace NHub.Interop.Tests.Gateway;

/// <summary>A Prometheus text exposition (a host's /metrics), summed by metric name and label matches.</summary>
public sealed partial class PrometheusMetrics(string text)
{
    public string Text { get; } = text;

    public static async Task<PrometheusMetrics> ScrapeAsync(Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        return new PrometheusMetrics(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
    }

    public double Sum(string name, params string[] labels)
    {
        double total = 0;
        foreach (Match m in Sample().Matches(Text))
        {
            if (m.Groups["name"].Value == name && labels.All(l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            {
                total += double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return total;
    }

    /// <summary>The DTLS lines, for a failure message.</summary>
    public string Dtls => string.Join('\n', Text.Split('\n').Where(l => l.StartsWith("nhub_dtls", StringComparison.Ordinal)));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
