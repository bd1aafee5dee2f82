using System.Diagnostics;
using NHub.Grains;
using NHub.Silo.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace NHub.Integration.Tests.Fleet;

/// <summary>
/// The fleet page's queries on a registry of 100,000 devices in real PostgreSQL (schema by the real migrate command):
/// every filter, the id prefix, paging deep into the list, the last-seen order and the totals. Each must answer well
/// within a page refresh; the bound is generous for a loaded CI machine, the durations are printed.
/// </summary>
[Collection(PlatformServersCollection.Name)]
public sealed class FleetRegistryScaleTests(PlatformServersFixture servers, ITestOutputHelper output)
{
    private const int Devices = 100_000;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Fleet_queries_over_100000_devices_answer_within_the_bound_and_count_right()
    {
        var cs = await servers.MigratedDatabaseAsync();
        await using var db = NpgsqlDataSource.Create(cs);
        // Device i: online when i % 3 == 0; coaps when i % 10 < 8, coap when 8, never seen when 9; 2 pending commands
        // when i % 1000 == 0; downloading 2.0.0 when i % 500 == 1; seen i seconds after a fixed instant.
        await using (var fill = db.CreateCommand(
            """
            INSERT INTO nhub_devices (device_id, model, online, last_seen, created_at, transport, pending_commands, firmware_downloading)
            SELECT 'dev-' || lpad(i::text, 6, '0'), 'KM-3', i % 3 = 0,
                   CASE WHEN i % 10 = 9 THEN NULL ELSE timestamptz '2026-12-01 00:00:00+00' + make_interval(secs => i) END,
                   timestamptz '2026-11-01 00:00:00+00',
                   CASE WHEN i % 10 = 9 THEN 0 WHEN i % 10 = 8 THEN 1 ELSE 2 END,
                   CASE WHEN i % 1000 = 0 THEN 2 ELSE 0 END,
                   CASE WHEN i % 500 = 1 THEN '2.0.0' END
            FROM generate_series(0, @n - 1) AS i;
            ANALYZE nhub_devices;
            """))
        {
            fill.Parameters.AddWithValue("n", Devices);
            fill.CommandTimeout = 120;
            await fill.ExecuteNonQueryAsync();
        }
        var registry = new PostgresDeviceRegistry(db);
        await registry.QueryAsync(new DeviceQuery(null, OnlineFilter.Any, 0, 1), CancellationToken.None); // warm the pool

        async Task<T> Timed<T>(string what, Func<Task<T>> query)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await query();
            var took = Stopwatch.GetElapsedTime(started);
            output.WriteLine($"{what}: {took.TotalMilliseconds:F1} ms");
            Assert.True(took < Bound, $"{what} took {took}");
            return result;
        }
        Task<DevicePage> Page(string what, DeviceQuery q) => Timed(what, () => registry.QueryAsync(q, CancellationToken.None));

        var counts = await Timed("summary", () => registry.SummarizeAsync(CancellationToken.None));
        Assert.Equal(Devices, counts.Devices);
        Assert.Equal(Devices / 3 + 1, counts.Online);
        Assert.Equal(Devices / 10, counts.ByTransport.Single(t => t.Transport == DeviceTransport.Coap).Devices);
        Assert.Equal(Devices / 10, counts.ByTransport.Single(t => t.Transport == DeviceTransport.None).Devices);
        Assert.Equal(Devices / 1000, counts.DevicesWithPendingCommands);
        Assert.Equal(2 * Devices / 1000, counts.PendingCommands);
        Assert.Equal(Devices / 500, counts.FirmwareDownloads);

        var first = await Page("first page", new DeviceQuery(null, OnlineFilter.Any, 0, 50));
        Assert.Equal(Devices, first.Total);
        Assert.Equal("dev-000000", first.Items[0].DeviceId);
        var deep = await Page("page at offset 99,950", new DeviceQuery(null, OnlineFilter.Any, Devices - 50, 50));
        Assert.Equal("dev-099999", deep.Items[^1].DeviceId);
        var online = await Page("online, coaps", new DeviceQuery(null, OnlineFilter.Online, 0, 50, Transport: DeviceTransport.Coaps));
        Assert.All(online.Items, d => Assert.True(d.Online && d.Transport == DeviceTransport.Coaps));
        var prefix = await Page("prefix dev-0123", new DeviceQuery(null, OnlineFilter.Any, 0, 200, IdPrefix: "dev-0123"));
        Assert.Equal(100, prefix.Total);
        var pending = await Page("pending commands", new DeviceQuery(null, OnlineFilter.Any, 0, 200, PendingCommandsOnly: true));
        Assert.Equal(Devices / 1000, pending.Total);
        var firmware = await Page("firmware downloads", new DeviceQuery(null, OnlineFilter.Any, 0, 50, FirmwareDownloadingOnly: true));
        Assert.Equal(Devices / 500, firmware.Total);
        Assert.All(firmware.Items, d => Assert.Equal("2.0.0", d.FirmwareDownloading));
        var recent = await Page("recently seen", new DeviceQuery(null, OnlineFilter.Any, 0, 10, Order: DeviceOrder.LastSeenDescending));
        Assert.Equal("dev-099998", recent.Items[0].DeviceId); // 99999 % 10 == 9: never seen
        var none = await Page("never seen, offline, prefix", new DeviceQuery(null, OnlineFilter.Offline, 0, 50, IdPrefix: "dev-09", Transport: DeviceTransport.None));
        Assert.All(none.Items, d => Assert.Null(d.LastSeen));
    }
}
