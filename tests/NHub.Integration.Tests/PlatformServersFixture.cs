using NHub.Testing;

namespace NHub.Integration.Tests;

/// <summary>One real PostgreSQL and one real nats-server (JetStream) for the whole integration collection.</summary>
public sealed class PlatformServersFixture : IAsyncLifetime
{
    public PostgresServer Postgres { get; private set; } = null!;
    public NatsServer Nats { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var pg = PostgresServer.StartAsync();
        var nats = NatsServer.StartAsync();
        Postgres = await pg;
        Nats = await nats;
    }

    public async Task DisposeAsync()
    {
        if (Nats is not null)
        {
            await Nats.DisposeAsync();
        }
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
