using NHub.Testing;

namespace NHub.Integration.Tests;

/// <summary>
/// One real PostgreSQL for the whole integration collection (each test takes a fresh database). NATS is not shared:
/// a test that needs it starts a nats-server of its own (<c>NatsServer.StartAsync()</c>, ~50 ms), because two Orleans
/// clusters on one NATS account collide (see NatsStreamOwnershipCheck).
/// </summary>
public sealed class PlatformServersFixture : IAsyncLifetime
{
    public PostgresServer Postgres { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }
    }

    /// <summary>A fresh database with the NHub schema applied by the real <c>migrate</c> command.</summary>
    public async Task<string> MigratedDatabaseAsync()
    {
        var cs = await Postgres.CreateDatabaseAsync("nhub_" + Guid.NewGuid().ToString("N")[..10]);
        await SiloProcess.MigrateAsync(cs);
        return cs;
    }
}

[CollectionDefinition(Name)]
public sealed class PlatformServersCollection : ICollectionFixture<PlatformServersFixture>
{
    public const string Name = "platform servers";
}
