using Npgsql;

namespace NHub.Testing;

/// <summary>
/// A real PostgreSQL cluster of its own: initdb in a temp dir, listening on a free loopback port, removed on dispose.
/// initdb refuses to run as root, so as root the cluster runs as the 'postgres' system user (created by Debian's package).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _dataDir;
    private readonly string _socketDir;
    private readonly string _bin;
    private readonly bool _asPostgresUser;
    private bool _running;

    public int Port { get; }

    private PostgresServer(string root, int port, string bin, bool asPostgresUser)
    {
        _dataDir = Path.Combine(root, "data");
        _socketDir = root;
        _bin = bin;
        _asPostgresUser = asPostgresUser;
        Port = port;
    }

    public static async Task<PostgresServer> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "nhub-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var asPostgres = Environment.UserName == "root";
        var server = new PostgresServer(root, FreePorts.Next(), RepoPaths.PostgresBin(), asPostgres);
        if (asPostgres)
        {
            await Check(await ExternalProcess.RunAsync("chown", ["postgres:postgres", root], TimeSpan.FromSeconds(10)), "chown");
        }
        await Check(await server.RunPg("initdb", ["-D", server._dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"], TimeSpan.FromSeconds(120)), "initdb");
        await server.StartServerAsync();
        return server;
    }

    /// <summary>A connection string for <paramref name="database"/> (created if missing).</summary>
    public async Task<string> CreateDatabaseAsync(string database)
    {
        await using (var conn = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await conn.OpenAsync();
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @d", conn);
            exists.Parameters.AddWithValue("d", database);
            if (await exists.ExecuteScalarAsync() is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", conn);
                await create.ExecuteNonQueryAsync();
            }
        }
        return ConnectionString(database);
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Database = database,
            Pooling = true,
            Timeout = 5,
        }.ConnectionString;

    public async Task StopServerAsync()
    {
        if (!_running)
        {
            return;
        }
        _running = false;
        await RunPg("pg_ctl", ["-D", _dataDir, "-m", "fast", "-w", "stop"], TimeSpan.FromSeconds(60));
    }

    public async Task StartServerAsync()
    {
        // fsync off: a test cluster never survives a power cut, and the suite must stay fast on 2 cores.
        var options = $"-p {Port} -k {_socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200";
        await Check(await RunPg("pg_ctl", ["-D", _dataDir, "-o", options, "-l", Path.Combine(_socketDir, "server.log"), "-w", "-t", "60", "start"], TimeSpan.FromSeconds(90)), "pg_ctl start");
        _running = true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopServerAsync();
        }
        finally
        {
            try
            {
                Directory.Delete(_socketDir, recursive: true);
            }
            catch (IOException)
            {
                // best effort; the temp dir is unique
            }
        }
    }

    private Task<(int ExitCode, string Output)> RunPg(string tool, string[] args, TimeSpan timeout)
    {
        var exe = Path.Combine(_bin, tool);
        return _asPostgresUser
            ? ExternalProcess.RunAsync("runuser", ["-u", "postgres", "--", exe, .. args], timeout)
            : ExternalProcess.RunAsync(exe, args, timeout);
    }

    private static Task Check((int ExitCode, string Output) result, string what) =>
        result.ExitCode == 0 ? Task.CompletedTask : throw new InvalidOperationException($"{what} failed ({result.ExitCode}):\n{result.Output}");
}
