using NHub.Grains.Services;
using Npgsql;

namespace NHub.Silo.Infrastructure;

/// <summary>Deletes a device's rows from <c>nhub_dtls_sessions</c> (migration 0007), by credential or all of them.</summary>
public sealed class PostgresDtlsSessionEraser(NpgsqlDataSource db) : IDtlsSessionEraser
{
    public async Task<int> EraseAsync(string deviceId, string? pskIdentity, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand(pskIdentity is null
            ? "DELETE FROM nhub_dtls_sessions WHERE device_id = @device"
            : "DELETE FROM nhub_dtls_sessions WHERE device_id = @device AND psk_identity = @identity");
        cmd.Parameters.AddWithValue("device", deviceId);
        if (pskIdentity is not null)
        {
            cmd.Parameters.AddWithValue("identity", pskIdentity);
        }
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
