using NHub.Grains;
using NHub.Testing;
using Npgsql;

namespace NHub.Integration.Tests.Hosting;

[Collection(PlatformServersCollection.Name)]
public sealed class ClusterMembershipTests(PlatformServersFixture servers)
{
    [Fact]
    public async Task Two_silos_form_a_cluster_through_the_postgres_membership_table_and_one_client_reaches_grains_on_both()
    {
        var cs = await servers.MigratedDatabaseAsync();
        var clusterId = "cluster-" + Guid.NewGuid().ToString("N")[..6];
        var settings = ClusterSettings.Production(clusterId, cs, natsUrl: null);

        await using var silo1 = new SiloProcess("silo-1", ClusterSettings.AsEnvironment(settings));
        await using var silo2 = new SiloProcess("silo-2", ClusterSettings.AsEnvironment(settings));
        await silo1.StartAsync();
        await silo2.StartAsync();

        // Both silos registered themselves as Active (status 3) in the membership table.
        Assert.Equal(2, await ActiveSilos(cs, clusterId));

        await using var client = await ClusterClient.ConnectAsync(settings);
        var silosSeen = new HashSet<string>(StringComparer.Ordinal);
        // Random placement: with 64 keys the chance that all land on one of two silos is 2 * 2^-64.
        for (var key = 0; key < 64 && silosSeen.Count < 2; key++)
        {
            silosSeen.Add(await client.Client.GetGrain<IClusterProbeGrain>(key).GetSiloIdentity());
        }
        Assert.Equal(2, silosSeen.Count);
    }

    private static async Task<long> ActiveSilos(string cs, string clusterId)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = @d AND status = 3", conn);
        cmd.Parameters.AddWithValue("d", clusterId);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
