using Npgsql;

namespace NHub.ServiceDefaults;

/// <summary>
/// How many PostgreSQL connections one host may open, and how they are shared. Npgsql pools per connection string,
/// so the Orleans ADO.NET providers (clustering, grain state, PubSub, reminders: one string, one pool) and our own
/// data source (device registry, firmware) would each grow to Npgsql's default of 100 connections: 200 per silo,
/// more than PostgreSQL's default <c>max_connections</c> (100) with a single silo, and a flood of grain activations
/// gets "sorry, too many clients already". Here each host gets a budget (<c>Database:MaxConnections</c>, 40 for a
/// silo; 4 for a client host, which only reads the membership table), split into fixed pool maxima that add up to
/// it. A request beyond the pool waits for a connection (up to the connection string's Timeout) instead of failing.
/// Size it so that silos × budget + client hosts × 4 + a few for health checks and operators stays below the
/// server's <c>max_connections</c> − <c>superuser_reserved_connections</c> (docs in deploy/postgres/README.md).
/// </summary>
public static class PostgresConnectionBudget
{
    public const string MaxConnectionsKey = "Database:MaxConnections";
    public const int DefaultSiloConnections = 40;
    public const int ClientConnections = 4;

    /// <summary>The Orleans providers' share of a silo's budget (they carry every activation's state reads and writes).</summary>
    public static string Orleans(string connectionString, int budget) => WithPool(connectionString, budget - Data(budget), "nhub-silo-orleans");

    /// <summary>Our own queries' pool: a quarter of the budget, at least 2.</summary>
    public static string DataSource(string connectionString, int budget) => WithPool(connectionString, Data(budget), "nhub-silo-data");

    /// <summary>A client host (standalone gateway, API host): clustering reads only.</summary>
    public static string Client(string connectionString) => WithPool(connectionString, ClientConnections, "nhub-client");

    /// <summary>
    /// A gateway's pools for the DTLS session table (Gateway:SessionStore:MaxConnections each), besides its client pool:
    /// the durable one, and <paramref name="lazyCommit"/> one whose sessions run with <c>synchronous_commit = off</c>
    /// (only for writes whose loss in a database crash is harmless, PostgresDtlsSessionStore.StoreAsync). Neither sets
    /// session state, so neither needs Npgsql's reset (DISCARD ALL, an extra transaction) when a connection is reused,
    /// and their few statements are prepared once per connection (Npgsql's automatic preparation), not planned each time.
    /// </summary>
    public static string GatewaySessions(string connectionString, int max, bool lazyCommit = false)
    {
        var builder = new NpgsqlConnectionStringBuilder(WithPool(connectionString, max, lazyCommit ? "nhub-gateway-sessions-lazy" : "nhub-gateway-sessions"))
        {
            NoResetOnClose = true,
            MaxAutoPrepare = 16,
            AutoPrepareMinUsages = 2,
        };
        if (lazyCommit)
        {
            builder.Options = ((builder.Options ?? "") + " -c synchronous_commit=off").Trim();
        }
        return builder.ConnectionString;
    }

    private static int Data(int budget) => Math.Max(2, budget / 4);

    /// <summary>Each pool also names itself in pg_stat_activity (unless the connection string names the application).</summary>
    private static string WithPool(string connectionString, int max, string applicationName)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = max, MinPoolSize = 0 };
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = applicationName;
        }
        return builder.ConnectionString;
    }
}
