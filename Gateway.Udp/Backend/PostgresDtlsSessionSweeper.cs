using Npgsql;

namespace NHub.Gateway.Backend;

/// <summary>
/// Keeps the session table (<see cref="PostgresDtlsSessionStore"/>) from growing without bound: every
/// <see cref="SessionStoreOptions.SweepPeriod"/> it deletes sessions nobody resumed before their expiry, sessions whose
/// credential was revoked, and revocation records older than a day. Every gateway sweeps; the deletes are idempotent.
/// </summary>
public sealed partial class PostgresDtlsSessionSweeper(
    [FromKeyedServices(PostgresDtlsSessionStore.DataSourceKey)] NpgsqlDataSource db,
    SessionStoreOptions options,
    TimeProvider time,
    ILogger<PostgresDtlsSessionSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SweepPeriod, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var swept = await SweepAsync(stoppingToken);
                    if (swept > 0)
                    {
                        LogSwept(logger, swept);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One sweep: up to 10,000 sessions that expired or whose credential was revoked (the next period takes the rest),
    /// and revocation records older than a day (every session they could refuse was established before them).
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        await using var batch = db.CreateBatch();
        var sessions = new NpgsqlBatchCommand(
            $"""
            DELETE FROM nhub_dtls_sessions WHERE connection_id IN (
                SELECT connection_id FROM nhub_dtls_sessions AS s
                WHERE s.expires_at <= @now OR NOT {PostgresDtlsSessionStore.NotRevoked} LIMIT 10000)
            """);
        sessions.Parameters.AddWithValue("now", time.GetUtcNow());
        batch.BatchCommands.Add(sessions);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM nhub_revoked_credentials WHERE revoked_at < now() - interval '1 day'"));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return sessions.RecordsAffected;
    }

    [LoggerMessage(EventId = 5215, Level = LogLevel.Information, Message = "{Count} expired or revoked DTLS session(s) deleted from the session store")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(EventId = 5216, Level = LogLevel.Warning, Message = "Sweeping expired DTLS sessions failed; retried next period")]
    private static partial void LogSweepFailed(ILogger logger, Exception ex);
}
