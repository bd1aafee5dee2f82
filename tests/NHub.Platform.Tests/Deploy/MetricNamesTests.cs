using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using NHub.Testing;

namespace NHub.Platform.Tests.Deploy;

/// <summary>
/// The Grafana dashboard and the Prometheus alert rules name metrics the platform really exports: every
/// <c>nhub_*</c> name is derived from an instrument created in the source (observable ones with their callback written
/// inline, as the OpenTelemetry Prometheus exporter
/// spells it: dots to underscores, the unit as a suffix, <c>_total</c> for counters, <c>_bucket/_sum/_count</c> for
/// histograms), every <c>orleans_*</c> name from an instrument name constant in the Orleans assemblies, and every label
/// a query filters or groups by is a tag the source sets. Renaming an instrument or a tag breaks this test, not a
/// dashboard in production.
/// </summary>
public sealed partial class MetricNamesTests
{
    /// <summary>Labels Prometheus or the scrape configuration adds (deploy/prometheus/prometheus.yml), not the code.</summary>
    private static readonly HashSet<string> ScrapeLabels = ["job", "instance", "pod", "le"];

    private static string Deploy(string path) => File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", path));

    private static IEnumerable<string> SourceFiles() =>
        new[] { "Coap", "Gateway.Udp", "Grains", "Grains.Interfaces", "ManagementApi", "ServiceDefaults", "Silo" }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>The Prometheus names of the NHub instruments in the source.</summary>
    private static HashSet<string> ExportedNhubNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in SourceFiles())
        {
            foreach (Match m in Instrument().Matches(File.ReadAllText(file)))
            {
                var kind = m.Groups["kind"].Value;
                var unit = m.Groups["unit"].Value switch
                {
                    "ms" => "_milliseconds",
                    "s" => "_seconds",
                    "By" => "_bytes",
                    _ => "", // "{request}" and the like are annotations, not units
                };
                var name = m.Groups["name"].Value.Replace('.', '_') + unit;
                switch (kind)
                {
                    case "Counter" or "ObservableCounter":
                        names.Add(name + "_total");
                        break;
                    case "Histogram":
                        names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
                        break;
                    default: // UpDownCounter, gauges
                        names.Add(name);
                        break;
                }
            }
        }
        return names;
    }

    /// <summary>Orleans' instrument names (string constants "orleans-...") in its assemblies beside this test.</summary>
    private static HashSet<string> OrleansInstrumentNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in Directory.GetFiles(AppContext.BaseDirectory, "Orleans*.dll"))
        {
            Type?[] types;
            try
            {
                types = Assembly.LoadFrom(path).GetTypes();
            }
            catch (ReflectionTypeLoadException ex)
            {
                types = ex.Types;
            }
            foreach (var type in types)
            {
                foreach (var field in type?.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic) ?? [])
                {
                    if (field.IsLiteral && field.GetRawConstantValue() is string s && s.StartsWith("orleans-", StringComparison.Ordinal))
                    {
                        names.Add(s);
                    }
                }
            }
        }
        return names;
    }

    private static List<string> DashboardExpressions()
    {
        using var dashboard = JsonDocument.Parse(Deploy("grafana/nhub-dashboard.json"));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();
        Assert.NotEmpty(panels);
        var expressions = new List<string>();
        foreach (var panel in panels)
        {
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"panel '{panel.GetProperty("title")}' has no query");
            expressions.AddRange(targets.Select(t => t.GetProperty("expr").GetString()!));
        }
        return expressions;
    }

    private static List<string> AlertExpressions()
    {
        // The rules file as JSON (the yaml package that validates the Kubernetes manifests parses it).
        var script = "const Y = require(require('path').join(process.env.NHUB_NODE_MODULES, 'yaml')); " +
            "console.log(JSON.stringify(Y.parse(require('fs').readFileSync(process.argv[1], 'utf8'))));";
        var (code, output, errors) = ExternalProcess.RunCapturedAsync("node", ["-e", script, Path.Combine(RepoPaths.Root, "deploy", "prometheus", "alerts.yml")],
            TimeSpan.FromSeconds(30), new Dictionary<string, string?> { ["NHUB_NODE_MODULES"] = RepoPaths.NodeModules }).GetAwaiter().GetResult();
        Assert.True(code == 0, errors);
        using var rules = JsonDocument.Parse(output);
        var expressions = new List<string>();
        foreach (var group in rules.RootElement.GetProperty("groups").EnumerateArray())
        {
            foreach (var rule in group.GetProperty("rules").EnumerateArray())
            {
                Assert.False(string.IsNullOrEmpty(rule.GetProperty("alert").GetString()));
                Assert.False(string.IsNullOrEmpty(rule.GetProperty("labels").GetProperty("severity").GetString()));
                Assert.False(string.IsNullOrEmpty(rule.GetProperty("annotations").GetProperty("summary").GetString()));
                expressions.Add(rule.GetProperty("expr").GetString()!);
            }
        }
        return expressions;
    }

    [Fact]
    public void The_alert_rules_cover_handshake_failures_5_03_and_gateways_down()
    {
        var rules = Deploy("prometheus/alerts.yml");
        foreach (var alert in new[] { "NHubDtlsHandshakeFailureRate", "NHubCoapServiceUnavailableRate", "NHubGatewayDown" })
        {
            Assert.Contains($"alert: {alert}", rules, StringComparison.Ordinal);
        }
        Assert.Contains(AlertExpressions(), e => e.Contains("code=\"5.03\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_metric_the_dashboard_and_the_alerts_query_is_exported_under_that_name()
    {
        var nhub = ExportedNhubNames();
        var orleans = OrleansInstrumentNames();
        Assert.Contains("nhub_dtls_handshakes_total", nhub);
        Assert.Contains("orleans-catalog-activations", orleans);
        var used = DashboardExpressions().Concat(AlertExpressions())
            .SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).Distinct().ToList();
        Assert.Contains("nhub_jetstream_publish_duration_milliseconds_bucket", used);
        foreach (var name in used)
        {
            if (name.StartsWith("nhub_", StringComparison.Ordinal))
            {
                Assert.True(nhub.Contains(name), $"{name} is not exported; instruments give: {string.Join(", ", nhub.Order())}");
            }
            else
            {
                var instrument = OrleansSuffix().Replace(name, "").Replace('_', '-');
                Assert.True(orleans.Contains(instrument), $"{name}: Orleans has no instrument '{instrument}'");
            }
        }
    }

    [Fact]
    public void Every_label_the_queries_filter_or_group_by_is_a_tag_the_source_sets()
    {
        var source = string.Concat(SourceFiles().Where(f => f.EndsWith("Metrics.cs", StringComparison.Ordinal) || File.ReadAllText(f).Contains("System.Diagnostics.Metrics", StringComparison.Ordinal)).Select(File.ReadAllText));
        var labels = DashboardExpressions().Concat(AlertExpressions())
            .SelectMany(e => GroupBy().Matches(e).SelectMany(m => m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries))
                .Concat(Matcher().Matches(e).Select(m => m.Groups[1].Value)))
            .Where(l => !ScrapeLabels.Contains(l)).Distinct().ToList();
        Assert.Contains("code", labels);
        foreach (var label in labels)
        {
            Assert.True(source.Contains($"(\"{label}\"", StringComparison.Ordinal), $"no metric tag '{label}' is set in the source");
        }
    }

    [GeneratedRegex(@"Create(?<kind>Counter|Histogram|UpDownCounter|Gauge|ObservableCounter|ObservableGauge|ObservableUpDownCounter)<\w+>\(\s*""(?<name>nhub\.[a-z0-9_.]+)""\s*,\s*(?:\(\)\s*=>[^""]*?,\s*)?""(?<unit>[^""]*)""")]
    private static partial Regex Instrument();

    [GeneratedRegex(@"\b(?:nhub|orleans)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"(?:_bucket|_sum|_count)$|_total$|_milliseconds(?=$|_)")]
    private static partial Regex OrleansSuffix();

    [GeneratedRegex(@"\bby \(([a-z_, ]+)\)")]
    private static partial Regex GroupBy();

    [GeneratedRegex(@"[{,]\s*([a-z_]+)\s*(?:=~|!=|!~|=)")]
    private static partial Regex Matcher();
}
