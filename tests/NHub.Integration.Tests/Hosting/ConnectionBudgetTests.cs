using Npgsql;
using NHub.Grains;
using NHub.Testing;

namespace NHub.Integration.Tests.Hosting;

/// <summary>
/// A burst of grain activations (a fuzzer's thousands of unknown device ids) must not open more PostgreSQL
/// connections than the silo's budget (Database:MaxConnections), must not fail for want of one, and must leave no
/// activations behind.
/// </summary>
[Collection(PlatformServersCollection.Name)]
public sealed class ConnectionBudgetTests(PlatformServersFixture servers)
{
    [Fact]
    public async Task Three_thousand_unknown_devices_at_once_stay_within_the_connection_budget_and_leave_no_activations()
    {
        const int budget = 8;
        var cs = await servers.MigratedDatabaseAsync();
        var settings = ClusterSettings.Production("budget-" + Guid.NewGuid().ToString("N")[..6], cs, natsUrl: null);
        settings["Database:MaxConnections"] = budget.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var silo = new SiloProcess("silo", ClusterSettings.AsEnvironment(settings));
        await silo.StartAsync();
        await using var client = await ClusterClient.ConnectAsync(settings);
        var database = new NpgsqlConnectionStringBuilder(cs).Database;

        await using var probe = new NpgsqlConnection(cs);
        await probe.OpenAsync();
        async Task<int> SiloConnections()
        {
            await using var cmd = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = @db AND application_name IN ('nhub-silo-orleans', 'nhub-silo-data')", probe);
            cmd.Parameters.AddWithValue("db", database!);
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        var most = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                most = Math.Max(most, await SiloConnections());
            }
        });
        var calls = Enumerable.Range(0, 3000).Select(i => client.Client.GetGrain<IDeviceGrain>($"fuzz-{i}").GetTwin()).ToArray();
        var twins = await Task.WhenAll(calls);
        await stop.CancelAsync();
        await sampler;

        Assert.All(twins, Assert.Null);
        Assert.True(most > 0, "the sampler never saw the silo's pools (application_name)");
        Assert.True(most <= budget, $"the silo held {most} connections, budget {budget}");

        // Calls to devices that do not exist leave no activation behind (collected right after each call).
        var management = client.Client.GetGrain<IManagementGrain>(0);
        async Task<int> DeviceActivations() => (await management.GetSimpleGrainStatistics())
            .Where(s => s.GrainType.StartsWith("NHub.Grains.Devices.DeviceGrain,", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        int left;
        while ((left = await DeviceActivations()) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.Equal(0, left);
    }
}
