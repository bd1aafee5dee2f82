using NHub.Grains;
using NHub.Testing;

namespace NHub.Integration.Tests.Hosting;

[Collection(PlatformServersCollection.Name)]
public sealed class SiloPersistenceTests(PlatformServersFixture servers)
{
    [Fact]
    public async Task Device_twin_survives_a_silo_restart_on_postgres()
    {
        var cs = await servers.MigratedDatabaseAsync();
        var settings = ClusterSettings.Production("persist-" + Guid.NewGuid().ToString("N")[..6], cs, natsUrl: null);
        var record = new DeviceRecord("869181072798893", "KM-3", "SN-001", "869181072798893", new SimDetails("8961000000000000001", "61400000001", "Telstra"));

        await using (var silo = new SiloProcess("silo-a", ClusterSettings.AsEnvironment(settings)))
        {
            await silo.StartAsync();
            await using (var client = await ClusterClient.ConnectAsync(settings))
            {
                var created = await client.Client.GetGrain<IDeviceGrain>(record.DeviceId).Provision(record);
                Assert.Equal(record, created.Record);
            }
            await silo.StopAsync();
        }

        // A new silo process (new generation) on the same database: the twin must come back from PostgreSQL.
        await using (var silo = new SiloProcess("silo-b", ClusterSettings.AsEnvironment(settings)))
        {
            await silo.StartAsync();
            await using var client = await ClusterClient.ConnectAsync(settings);
            var twin = await client.Client.GetGrain<IDeviceGrain>(record.DeviceId).GetTwin();
            Assert.NotNull(twin);
            Assert.Equal(record, twin.Record);
        }
    }
}
