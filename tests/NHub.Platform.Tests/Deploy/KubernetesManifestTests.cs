using System.Text.Json;
using NHub.Testing;

namespace NHub.Platform.Tests.Deploy;

/// <summary>
/// deploy/kubernetes, validated offline: every object against the Kubernetes OpenAPI schemas of the npm
/// kubernetes-models package (deploy/kubernetes/validate.mjs; no cluster), then what the schemas cannot know: each
/// host has its probes on /health/live and /health/ready and resource requests, the gateway's Service carries both
/// CoAP ports over UDP, and every ConfigMap or Secret a pod refers to is the one this folder or the README provides.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static string Folder => Path.Combine(RepoPaths.Root, "deploy", "kubernetes");

    private static async Task<(int ExitCode, List<JsonElement> Documents, string Errors)> ValidateAsync(IEnumerable<string> files)
    {
        var (code, output, errors) = await ExternalProcess.RunCapturedAsync("node", [Path.Combine(Folder, "validate.mjs"), .. files],
            TimeSpan.FromSeconds(60), new Dictionary<string, string?> { ["NHUB_NODE_MODULES"] = RepoPaths.NodeModules });
        var json = output.Split('\n').LastOrDefault(l => l.StartsWith("{\"documents\"", StringComparison.Ordinal));
        Assert.True(json is not null, $"validate.mjs printed no result (exit {code}): {output}{errors}");
        using var doc = JsonDocument.Parse(json);
        return (code, [.. doc.RootElement.GetProperty("documents").EnumerateArray().Select(e => e.Clone())], errors);
    }

    private static async Task<List<JsonElement>> ManifestsAsync()
    {
        var files = Directory.GetFiles(Folder, "*.yaml").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var (code, documents, errors) = await ValidateAsync(files);
        foreach (var d in documents)
        {
            Assert.True(d.GetProperty("error").ValueKind == JsonValueKind.Null,
                $"{d.GetProperty("file")} #{d.GetProperty("index")} ({d.GetProperty("kind")} {d.GetProperty("name")}): {d.GetProperty("error")}");
        }
        Assert.True(code == 0, errors);
        return [.. documents.Select(d => d.GetProperty("object"))];
    }

    private static JsonElement Find(List<JsonElement> objects, string kind, string name) =>
        Assert.Single(objects, o => o.GetProperty("kind").GetString() == kind && o.GetProperty("metadata").GetProperty("name").GetString() == name);

    private static IEnumerable<JsonElement> PodSpecs(List<JsonElement> objects) =>
        objects.Where(o => o.GetProperty("kind").GetString() is "Deployment" or "StatefulSet" or "Job")
            .Select(o => o.GetProperty("spec").GetProperty("template").GetProperty("spec"));

    [Fact]
    public async Task Every_manifest_is_valid_against_the_kubernetes_schemas_and_the_platform_is_complete()
    {
        var objects = await ManifestsAsync();
        Find(objects, "Deployment", "nhub-silo");
        Find(objects, "Deployment", "nhub-gateway");
        Find(objects, "Deployment", "nhub-management-api");
        Find(objects, "ConfigMap", "nhub-config");
        var job = Find(objects, "Job", "nhub-migrate");
        var args = job.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0].GetProperty("args");
        Assert.Equal("migrate", args[0].GetString());

        var service = Find(objects, "Service", "nhub-gateway").GetProperty("spec");
        var udp = service.GetProperty("ports").EnumerateArray()
            .Where(p => p.GetProperty("protocol").GetString() == "UDP").Select(p => p.GetProperty("port").GetInt32()).Order().ToList();
        Assert.Equal([5683, 5684], udp);
        // The device's address must survive the load balancer: DTLS cookies and per-address limits depend on it.
        Assert.Equal("Local", service.GetProperty("externalTrafficPolicy").GetString());
    }

    [Fact]
    public async Task Every_long_running_container_has_health_probes_and_every_container_resource_requests()
    {
        var objects = await ManifestsAsync();
        foreach (var o in objects.Where(o => o.GetProperty("kind").GetString() is "Deployment" or "StatefulSet" or "Job"))
        {
            var name = o.GetProperty("metadata").GetProperty("name").GetString();
            foreach (var c in o.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers").EnumerateArray())
            {
                var requests = c.GetProperty("resources").GetProperty("requests");
                Assert.True(requests.TryGetProperty("cpu", out _) && requests.TryGetProperty("memory", out _), $"{name}: no cpu/memory requests");
                if (o.GetProperty("kind").GetString() == "Job")
                {
                    continue;
                }
                Assert.Equal("/health/live", c.GetProperty("livenessProbe").GetProperty("httpGet").GetProperty("path").GetString());
                Assert.Equal("/health/ready", c.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("path").GetString());
                var port = c.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("port").GetString();
                Assert.Contains(c.GetProperty("ports").EnumerateArray(), p => p.GetProperty("name").GetString() == port && p.GetProperty("containerPort").GetInt32() == 8080);
            }
        }
    }

    [Fact]
    public async Task Every_config_map_and_secret_a_pod_uses_exists_here_or_is_the_documented_secret_and_every_key_is_read_by_the_hosts()
    {
        var objects = await ManifestsAsync();
        var configMaps = objects.Where(o => o.GetProperty("kind").GetString() == "ConfigMap").ToDictionary(o => o.GetProperty("metadata").GetProperty("name").GetString()!);
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "README.md"));
        var keys = new List<string>();
        foreach (var spec in PodSpecs(objects))
        {
            foreach (var c in spec.GetProperty("containers").EnumerateArray())
            {
                foreach (var from in c.GetProperty("envFrom").EnumerateArray())
                {
                    if (from.TryGetProperty("configMapRef", out var map))
                    {
                        var configMap = configMaps[map.GetProperty("name").GetString()!];
                        keys.AddRange(configMap.GetProperty("data").EnumerateObject().Select(p => p.Name));
                    }
                    if (from.TryGetProperty("secretRef", out var secret))
                    {
                        var secretName = secret.GetProperty("name").GetString()!;
                        Assert.Contains($"kubectl -n nhub create secret generic {secretName}", readme, StringComparison.Ordinal);
                    }
                }
                if (c.TryGetProperty("env", out var env))
                {
                    keys.AddRange(env.EnumerateArray().Select(e => e.GetProperty("name").GetString()!));
                }
            }
        }
        string[] known = ["ConnectionStrings", "Nats", "Orleans", "Security", "Gateway", "ManagementApi", "Database", "Devices", "Credentials", "Logging"];
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            Assert.Contains(key.Split("__")[0], known);
        }
    }

    [Fact]
    public async Task The_validator_refuses_an_object_that_breaks_the_schema_and_an_unknown_kind()
    {
        var file = Path.Combine(Path.GetTempPath(), $"nhub-bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, """
            apiVersion: v1
            kind: Service
            metadata:
              name: bad
            spec:
              ports:
                - port: "5684"
                  protocol: UDP
            ---
            apiVersion: v1
            kind: Servise
            metadata:
              name: typo
            """);
        try
        {
            var (code, documents, _) = await ValidateAsync([file]);
            Assert.Equal(1, code);
            Assert.Contains("port must be integer", documents[0].GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Contains("no schema for v1 Servise", documents[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
