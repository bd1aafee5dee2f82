namespace NHub.Testing;

/// <summary>Where the repository, its built hosts and the tools installed by scripts/install-deps.sh live.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration the tests were built with (the hosts are built with the same).</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The built entry assembly of a host project, e.g. <c>HostDll("Silo", "NHub.Silo")</c>.</summary>
    public static string HostDll(string projectFolder, string assemblyName)
    {
        var path = Path.Combine(Root, projectFolder, "bin", Configuration, "net10.0", assemblyName + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; run the README's test command (it builds the solution first).", path);
    }

    /// <summary>
    /// Where a test keeps a file for people to look at after the run (a screenshot): <c>$NHUB_TEST_ARTIFACTS</c> when
    /// set, else <c>artifacts/test/</c> in the repository (git-ignored). The folder is created.
    /// </summary>
    public static string Artifact(string fileName)
    {
        var folder = Environment.GetEnvironmentVariable("NHUB_TEST_ARTIFACTS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Root, "artifacts", "test");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, fileName);
    }

    /// <summary>The node_modules folder that scripts/install-deps.sh fills (npm interop clients, playwright-core, kubernetes-models).</summary>
    public static string NodeModules => Path.Combine(Root, ".tools", "node", "node_modules");

    /// <summary>A tool from .tools/bin (installed by scripts/install-deps.sh) or else from PATH.</summary>
    public static string Tool(string name)
    {
        var local = Path.Combine(Root, ".tools", "bin", name);
        if (File.Exists(local))
        {
            return local;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"'{name}' not found in .tools/bin or PATH; run scripts/install-deps.sh (the README's test command does).");
    }

    /// <summary>The PostgreSQL server binaries folder (initdb, pg_ctl).</summary>
    public static string PostgresBin()
    {
        var versions = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [];
        Array.Sort(versions, StringComparer.Ordinal);
        for (var i = versions.Length - 1; i >= 0; i--)
        {
            var bin = Path.Combine(versions[i], "bin");
            if (File.Exists(Path.Combine(bin, "initdb")))
            {
                return bin;
            }
        }
        return Path.GetDirectoryName(Tool("initdb"))!;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NHub.Orleans.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("NHub.Orleans.sln not found above " + AppContext.BaseDirectory);
    }
}
