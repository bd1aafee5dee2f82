using System.Text.RegularExpressions;
using NHub.Testing;

namespace NHub.Platform.Tests;

/// <summary>
/// The deploy files cannot be run here (no Docker engine), so their references are checked against the repository:
/// a renamed project or configuration key breaks these tests instead of a deployment.
/// </summary>
public sealed partial class DeployFilesTests
{
    private static string Deploy(string path) => File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", path));

    [Fact]
    public void Every_folder_the_dockerfile_copies_exists_and_every_host_project_is_buildable_from_them()
    {
        var dockerfile = Deploy("docker/Dockerfile");
        var copied = CopyLine().Matches(dockerfile).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(copied);
        foreach (var folder in copied)
        {
            Assert.True(Directory.Exists(Path.Combine(RepoPaths.Root, folder)), $"Dockerfile copies {folder}, which does not exist");
        }
        // Every project a host references must be among the copied folders.
        foreach (var host in new[] { "Silo/Silo.csproj", "Gateway.Udp/Gateway.Udp.csproj", "ManagementApi/ManagementApi.csproj" })
        {
            foreach (Match reference in ProjectReference().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, host))))
            {
                var folder = reference.Groups[1].Value.Replace('\\', '/').Split('/')[1];
                Assert.Contains(folder, copied);
            }
        }
    }

    [Fact]
    public void Every_build_arg_in_compose_names_a_host_project()
    {
        foreach (Match m in ProjectArg().Matches(Deploy("docker-compose.yml")))
        {
            var project = m.Groups[1].Value;
            Assert.True(File.Exists(Path.Combine(RepoPaths.Root, project, project + ".csproj")), $"compose builds PROJECT={project}, which is not a project");
        }
    }

    [Fact]
    public void Every_setting_compose_passes_is_a_section_the_hosts_read()
    {
        string[] known = ["ConnectionStrings", "Nats", "Orleans", "Security", "Gateway", "ManagementApi", "Database", "Devices", "Credentials", "Logging"];
        var keys = EnvKey().Matches(Deploy("docker-compose.yml")).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            Assert.Contains(key.Split("__")[0], known);
        }
    }

    [GeneratedRegex(@"^COPY (?!--)([A-Za-z.]+)/ ", RegexOptions.Multiline)]
    private static partial Regex CopyLine();

    [GeneratedRegex(@"<ProjectReference Include=""([^""]+)""")]
    private static partial Regex ProjectReference();

    [GeneratedRegex(@"PROJECT: ([A-Za-z.]+)")]
    private static partial Regex ProjectArg();

    [GeneratedRegex(@"^\s+([A-Z][A-Za-z]+__[A-Za-z_0-9]+):", RegexOptions.Multiline)]
    private static partial Regex EnvKey();
}
