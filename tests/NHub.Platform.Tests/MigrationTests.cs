using NHub.Silo.Migrations;

namespace NHub.Platform.Tests;

public sealed class MigrationTests
{
    [Fact]
    public void Every_schema_file_under_deploy_is_embedded_in_version_order()
    {
        var migrations = SchemaMigrator.EmbeddedMigrations();
        var onDisk = Directory.GetFiles(Path.Combine(NHub.Testing.RepoPaths.Root, "deploy", "postgres", "migrations"), "*.sql");
        Assert.Equal(onDisk.Length, migrations.Count);
        for (var i = 0; i < migrations.Count; i++)
        {
            Assert.Equal(i + 1, migrations[i].Version);
            Assert.False(string.IsNullOrWhiteSpace(migrations[i].Sql));
        }
    }

    [Fact]
    public void Migrations_leave_transaction_control_to_the_runner()
    {
        foreach (var m in SchemaMigrator.EmbeddedMigrations())
        {
            foreach (var line in m.Sql.Split('\n'))
            {
                var code = line.Split("--")[0].Trim().ToUpperInvariant();
                Assert.False(code is "BEGIN;" or "COMMIT;" or "ROLLBACK;" || code.StartsWith('\\'), $"{m.Name}: '{line.Trim()}'");
            }
        }
    }
}
