using NHub.Grains;
using NHub.Grains.Services;
using Npgsql;

namespace NHub.Silo.Infrastructure;

/// <summary>The device registry in the <c>nhub_devices</c> table (migration 0005).</summary>
public sealed class PostgresDeviceRegistry(NpgsqlDataSource db) : IDeviceRegistry
{
    public async Task UpsertAsync(DeviceSummary device, CancellationToken cancellationToken)
    {
        var d = device;
        await using var cmd = db.CreateCommand(
            """
            INSERT INTO nhub_devices (device_id, model, serial, imei, online, last_seen, created_at)
            VALUES (@id, @model, @serial, @imei, @online, @last_seen, @created_at)
            ON CONFLICT (device_id) DO UPDATE SET model = excluded.model, serial = excluded.serial, imei = excluded.imei
            """);
        cmd.Parameters.AddWithValue("id", d.DeviceId);
        cmd.Parameters.AddWithValue("model", (object?)d.Model ?? DBNull.Value);
        cmd.Parameters.AddWithValue("serial", (object?)d.Serial ?? DBNull.Value);
        cmd.Parameters.AddWithValue("imei", (object?)d.Imei ?? DBNull.Value);
        cmd.Parameters.AddWithValue("online", d.Online);
        cmd.Parameters.AddWithValue("last_seen", (object?)d.LastSeen ?? DBNull.Value);
        cmd.Parameters.AddWithValue("created_at", d.CreatedAt);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task SetConnectivityAsync(string deviceId, bool online, DateTimeOffset? lastSeen, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("UPDATE nhub_devices SET online = @online, last_seen = @last_seen WHERE device_id = @id");
        cmd.Parameters.AddWithValue("id", deviceId);
        cmd.Parameters.AddWithValue("online", online);
        cmd.Parameters.AddWithValue("last_seen", (object?)lastSeen ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RemoveAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("DELETE FROM nhub_devices WHERE device_id = @id");
        cmd.Parameters.AddWithValue("id", deviceId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<DevicePage> QueryAsync(DeviceQuery query, CancellationToken cancellationToken)
    {
        // Same semantics as DeviceQueryMatcher: case-insensitive substring of id, serial or IMEI; online filter.
        const string Where =
            """
            WHERE (@online IS NULL OR online = @online)
              AND (@search IS NULL OR device_id ILIKE @pattern OR serial ILIKE @pattern OR imei ILIKE @pattern)
            """;
        await using var cmd = db.CreateCommand(
            $"""
            SELECT device_id, model, serial, imei, online, last_seen, created_at, count(*) OVER () AS total
            FROM nhub_devices {Where}
            ORDER BY device_id
            OFFSET @offset LIMIT @limit
            """);
        bool? online = query.Online switch { OnlineFilter.Online => true, OnlineFilter.Offline => false, _ => null };
        var search = string.IsNullOrEmpty(query.Search) ? null : query.Search;
        cmd.Parameters.Add(new NpgsqlParameter<bool?>("online", online) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });
        cmd.Parameters.Add(new NpgsqlParameter<string?>("search", search) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<string?>("pattern", search is null ? null : "%" + EscapeLike(search) + "%") { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.AddWithValue("offset", Math.Max(0, query.Offset));
        cmd.Parameters.AddWithValue("limit", Math.Max(0, query.Limit));
        var items = new List<DeviceSummary>();
        long total = 0;
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(new DeviceSummary(
                    reader.GetString(0),
                    reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetBoolean(4),
                    reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                    reader.GetFieldValue<DateTimeOffset>(6)));
                total = reader.GetInt64(7);
            }
        }
        if (items.Count == 0 && query.Offset > 0)
        {
            // Past the last page: the window function produced no row to carry the total.
            await using var count = db.CreateCommand($"SELECT count(*) FROM nhub_devices {Where}");
            count.Parameters.Add(new NpgsqlParameter<bool?>("online", online) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });
            count.Parameters.Add(new NpgsqlParameter<string?>("search", search) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            count.Parameters.Add(new NpgsqlParameter<string?>("pattern", search is null ? null : "%" + EscapeLike(search) + "%") { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        return new DevicePage(items, total);
    }

    private static string EscapeLike(string s) =>
        s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}
