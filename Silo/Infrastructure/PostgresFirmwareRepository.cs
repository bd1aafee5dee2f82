using System.Security.Cryptography;
using NHub.Grains;
using NHub.Grains.Services;
using Npgsql;

namespace NHub.Silo.Infrastructure;

/// <summary>Firmware images in the <c>nhub_firmware</c> table (migration 0005).</summary>
public sealed class PostgresFirmwareRepository(NpgsqlDataSource db) : IFirmwareRepository
{
    public async Task<FirmwareInfo> StoreAsync(string version, byte[] content, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var info = new FirmwareInfo(version, content.LongLength, Convert.ToHexStringLower(SHA256.HashData(content)), at);
        await using var cmd = db.CreateCommand(
            """
            INSERT INTO nhub_firmware (version, size, sha256, content, created_at) VALUES (@v, @size, @sha, @content, @at)
            ON CONFLICT (version) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, content = excluded.content, created_at = excluded.created_at
            """);
        cmd.Parameters.AddWithValue("v", version);
        cmd.Parameters.AddWithValue("size", info.Size);
        cmd.Parameters.AddWithValue("sha", info.Sha256);
        cmd.Parameters.AddWithValue("content", content);
        cmd.Parameters.AddWithValue("at", at);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
        return info;
    }

    public async Task<FirmwareImage?> GetAsync(string version, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("SELECT version, size, sha256, created_at, content FROM nhub_firmware WHERE version = @v");
        cmd.Parameters.AddWithValue("v", version);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new FirmwareImage(ReadInfo(reader), reader.GetFieldValue<byte[]>(4)) : null;
    }

    public async Task<FirmwareInfo?> GetInfoAsync(string version, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("SELECT version, size, sha256, created_at FROM nhub_firmware WHERE version = @v");
        cmd.Parameters.AddWithValue("v", version);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadInfo(reader) : null;
    }

    public async Task<bool> DeleteAsync(string version, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("DELETE FROM nhub_firmware WHERE version = @v");
        cmd.Parameters.AddWithValue("v", version);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<IReadOnlyList<FirmwareInfo>> ListAsync(CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("SELECT version, size, sha256, created_at FROM nhub_firmware ORDER BY version");
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        var list = new List<FirmwareInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadInfo(reader));
        }
        return list;
    }

    private static FirmwareInfo ReadInfo(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3));
}
