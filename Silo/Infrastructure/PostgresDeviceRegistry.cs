using NHub.Grains;
using NHub.Grains.Services;
using Npgsql;
using NpgsqlTypes;

namespace NHub.Silo.Infrastructure;

/// <summary>The device registry in the <c>nhub_devices</c> table (migrations 0005 and 0006).</summary>
public sealed class PostgresDeviceRegistry(NpgsqlDataSource db) : IDeviceRegistry
{
    private const string Columns = "device_id, model, serial, imei, online, last_seen, created_at, transport, pending_commands, firmware_downloading";

    public async Task UpsertAsync(DeviceSummary device, CancellationToken cancellationToken)
    {
        var d = device;
        await using var cmd = db.CreateCommand(
            $"""
            INSERT INTO nhub_devices ({Columns})
            VALUES (@id, @model, @serial, @imei, @online, @last_seen, @created_at, @transport, @pending, @firmware)
            ON CONFLICT (device_id) DO UPDATE SET model = excluded.model, serial = excluded.serial, imei = excluded.imei
            """);
        cmd.Parameters.AddWithValue("id", d.DeviceId);
        cmd.Parameters.AddWithValue("model", (object?)d.Model ?? DBNull.Value);
        cmd.Parameters.AddWithValue("serial", (object?)d.Serial ?? DBNull.Value);
        cmd.Parameters.AddWithValue("imei", (object?)d.Imei ?? DBNull.Value);
        cmd.Parameters.AddWithValue("online", d.Online);
        cmd.Parameters.AddWithValue("last_seen", (object?)d.LastSeen ?? DBNull.Value);
        cmd.Parameters.AddWithValue("created_at", d.CreatedAt);
        cmd.Parameters.AddWithValue("transport", (short)d.Transport);
        cmd.Parameters.AddWithValue("pending", d.PendingCommands);
        cmd.Parameters.Add(new NpgsqlParameter<string?>("firmware", d.FirmwareDownloading) { NpgsqlDbType = NpgsqlDbType.Text });
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task SetConnectivityAsync(string deviceId, bool online, DateTimeOffset? lastSeen, DeviceTransport transport, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("UPDATE nhub_devices SET online = @online, last_seen = @last_seen, transport = @transport WHERE device_id = @id");
        cmd.Parameters.AddWithValue("id", deviceId);
        cmd.Parameters.AddWithValue("online", online);
        cmd.Parameters.AddWithValue("last_seen", (object?)lastSeen ?? DBNull.Value);
        cmd.Parameters.AddWithValue("transport", (short)transport);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task SetPendingWorkAsync(string deviceId, int pendingCommands, string? firmwareDownloading, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("UPDATE nhub_devices SET pending_commands = @pending, firmware_downloading = @firmware WHERE device_id = @id");
        cmd.Parameters.AddWithValue("id", deviceId);
        cmd.Parameters.AddWithValue("pending", pendingCommands);
        cmd.Parameters.Add(new NpgsqlParameter<string?>("firmware", firmwareDownloading) { NpgsqlDbType = NpgsqlDbType.Text });
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
        // Same semantics as DeviceQueryMatcher: case-insensitive substring of id, serial or IMEI; case-sensitive id
        // prefix; online, transport, pending-command and firmware filters.
        const string Where =
            """
            WHERE (@online IS NULL OR online = @online)
              AND (@transport IS NULL OR transport = @transport)
              AND (NOT @pending_only OR pending_commands > 0)
              AND (NOT @firmware_only OR firmware_downloading IS NOT NULL)
              AND (@prefix IS NULL OR device_id LIKE @prefix)
              AND (@search IS NULL OR device_id ILIKE @pattern OR serial ILIKE @pattern OR imei ILIKE @pattern)
            """;
        var order = query.Order == DeviceOrder.LastSeenDescending ? "last_seen DESC NULLS LAST, device_id" : "device_id";
        await using var cmd = db.CreateCommand(
            $"""
            SELECT {Columns}, count(*) OVER () AS total
            FROM nhub_devices {Where}
            ORDER BY {order}
            OFFSET @offset LIMIT @limit
            """);
        AddFilters(cmd, query);
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
                    reader.GetFieldValue<DateTimeOffset>(6),
                    (DeviceTransport)reader.GetInt16(7),
                    reader.GetInt32(8),
                    reader.IsDBNull(9) ? null : reader.GetString(9)));
                total = reader.GetInt64(10);
            }
        }
        if (items.Count == 0 && query.Offset > 0)
        {
            // Past the last page: the window function produced no row to carry the total.
            await using var count = db.CreateCommand($"SELECT count(*) FROM nhub_devices {Where}");
            AddFilters(count, query);
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }
        return new DevicePage(items, total);
    }

    public async Task<FleetCounts> SummarizeAsync(CancellationToken cancellationToken)
    {
        // One pass over the table: per transport, the devices, the online ones, and the pending work.
        await using var cmd = db.CreateCommand(
            """
            SELECT transport, count(*), count(*) FILTER (WHERE online),
                   count(*) FILTER (WHERE pending_commands > 0), coalesce(sum(pending_commands), 0),
                   count(*) FILTER (WHERE firmware_downloading IS NOT NULL)
            FROM nhub_devices GROUP BY transport ORDER BY transport
            """);
        long devices = 0, online = 0, withPending = 0, pending = 0, firmware = 0;
        var transports = new List<TransportCount>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var n = reader.GetInt64(1);
            var o = reader.GetInt64(2);
            transports.Add(new TransportCount((DeviceTransport)reader.GetInt16(0), n, o));
            devices += n;
            online += o;
            withPending += reader.GetInt64(3);
            pending += reader.GetInt64(4);
            firmware += reader.GetInt64(5);
        }
        return new FleetCounts(devices, online, transports, withPending, pending, firmware);
    }

    private static void AddFilters(NpgsqlCommand cmd, DeviceQuery query)
    {
        bool? online = query.Online switch { OnlineFilter.Online => true, OnlineFilter.Offline => false, _ => null };
        var search = string.IsNullOrEmpty(query.Search) ? null : query.Search;
        var prefix = string.IsNullOrEmpty(query.IdPrefix) ? null : EscapeLike(query.IdPrefix) + "%";
        cmd.Parameters.Add(new NpgsqlParameter<bool?>("online", online) { NpgsqlDbType = NpgsqlDbType.Boolean });
        cmd.Parameters.Add(new NpgsqlParameter<short?>("transport", query.Transport is { } t ? (short)t : null) { NpgsqlDbType = NpgsqlDbType.Smallint });
        cmd.Parameters.Add(new NpgsqlParameter<bool>("pending_only", query.PendingCommandsOnly) { NpgsqlDbType = NpgsqlDbType.Boolean });
        cmd.Parameters.Add(new NpgsqlParameter<bool>("firmware_only", query.FirmwareDownloadingOnly) { NpgsqlDbType = NpgsqlDbType.Boolean });
        cmd.Parameters.Add(new NpgsqlParameter<string?>("prefix", prefix) { NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<string?>("search", search) { NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<string?>("pattern", search is null ? null : "%" + EscapeLike(search) + "%") { NpgsqlDbType = NpgsqlDbType.Text });
    }

    private static string EscapeLike(string s) =>
        s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}
