using NHub.Grains.Services;
using Npgsql;

namespace NHub.Silo.Infrastructure;

/// <summary>
/// Records revoked identities in <c>nhub_revoked_credentials</c> and deletes their rows (or a whole device's) from
/// <c>nhub_dtls_sessions</c> (migration 0007), in one transaction. The revocation time is the database's clock, the
/// clock the gateways' takeover compares it with.
/// </summary>
public sealed class PostgresDtlsSessionEraser(NpgsqlDataSource db) : IDtlsSessionEraser
{
    public async Task<int> EraseAsync(string deviceId, IReadOnlyCollection<string> revokedIdentities, bool wholeDevice, CancellationToken cancellationToken)
    {
        var identities = revokedIdentities.ToArray();
        await using var batch = db.CreateBatch();
        var record = new NpgsqlBatchCommand(
            """
            INSERT INTO nhub_revoked_credentials (psk_identity, revoked_at)
            SELECT unnest(@identities::text[]), now()
            ON CONFLICT (psk_identity) DO UPDATE SET revoked_at = excluded.revoked_at
            """);
        record.Parameters.AddWithValue("identities", identities);
        batch.BatchCommands.Add(record);
        var erase = new NpgsqlBatchCommand(
            "DELETE FROM nhub_dtls_sessions WHERE device_id = @device AND (@whole OR psk_identity = ANY(@identities::text[]))");
        erase.Parameters.AddWithValue("device", deviceId);
        erase.Parameters.AddWithValue("whole", wholeDevice);
        erase.Parameters.AddWithValue("identities", identities);
        batch.BatchCommands.Add(erase);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return erase.RecordsAffected;
    }
}
