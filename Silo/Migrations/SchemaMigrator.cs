using System.Reflection;
using System.Text.RegularExpressions;
using Npgsql;

namespace NHub.Silo.Migrations;

/// <summary>One versioned SQL script, named <c>NNNN_description.sql</c>.</summary>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// Applies the embedded schema scripts (deploy/postgres/migrations) in version order, each exactly once.
/// Idempotent and safe to run from several silos at once: every script runs in its own transaction under a
/// PostgreSQL advisory lock, and the applied versions are recorded in <c>nhub_schema_migrations</c>.
/// </summary>
public sealed partial class SchemaMigrator(string connectionString, ILogger logger)
{
    // Any constant works; it only has to be the same for every NHub process.
    private const long AdvisoryLockKey = 0x4E48_7562_4D69_6772; // "NHubMigr"

    public static IReadOnlyList<Migration> EmbeddedMigrations()
    {
        var asm = typeof(SchemaMigrator).Assembly;
        var list = new List<Migration>();
        foreach (var resource in asm.GetManifestResourceNames())
        {
            var match = MigrationName().Match(resource);
            if (!match.Success)
            {
                continue;
            }
            using var stream = asm.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            list.Add(new Migration(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[2].Value, reader.ReadToEnd()));
        }
        list.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < list.Count; i++)
        {
            if (list[i].Version == list[i - 1].Version)
            {
                throw new InvalidOperationException($"Two migrations share version {list[i].Version}: {list[i - 1].Name}, {list[i].Name}");
            }
        }
        return list;
    }

    /// <summary>Applies what is missing; returns the versions applied by this call.</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var migrations = EmbeddedMigrations();
        var applied = new List<int>();
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(cancellationToken);
        await using (var create = new NpgsqlCommand(
            """
            CREATE TABLE IF NOT EXISTS nhub_schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, conn))
        {
            // Two processes creating it at once can race on the catalog; the lock below serialises the rest.
            await using var lockTx = await conn.BeginTransactionAsync(cancellationToken);
            await LockAsync(conn, lockTx, cancellationToken);
            create.Transaction = lockTx;
            await create.ExecuteNonQueryAsync(cancellationToken);
            await lockTx.CommitAsync(cancellationToken);
        }

        foreach (var migration in migrations)
        {
            await using var tx = await conn.BeginTransactionAsync(cancellationToken);
            await LockAsync(conn, tx, cancellationToken);
            await using (var check = new NpgsqlCommand("SELECT 1 FROM nhub_schema_migrations WHERE version = @v", conn, tx))
            {
                check.Parameters.AddWithValue("v", migration.Version);
                if (await check.ExecuteScalarAsync(cancellationToken) is not null)
                {
                    await tx.RollbackAsync(cancellationToken);
                    continue;
                }
            }
            logger.LogInformation("Applying schema migration {Version:D4} {Name}", migration.Version, migration.Name);
            await using (var run = new NpgsqlCommand(migration.Sql, conn, tx))
            {
                await run.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var record = new NpgsqlCommand("INSERT INTO nhub_schema_migrations (version, name) VALUES (@v, @n)", conn, tx))
            {
                record.Parameters.AddWithValue("v", migration.Version);
                record.Parameters.AddWithValue("n", migration.Name);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
            await tx.CommitAsync(cancellationToken);
            applied.Add(migration.Version);
        }
        return applied;
    }

    private static async Task LockAsync(NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@k)", conn, tx);
        cmd.Parameters.AddWithValue("k", AdvisoryLockKey);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    [GeneratedRegex(@"^migrations/(\d{4})_([A-Za-z0-9_]+)\.sql$")]
    private static partial Regex MigrationName();
}
