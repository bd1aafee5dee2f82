using NHub.Grains.Services;

namespace NHub.Grains.Tests.Devices;

/// <summary>DeviceGrain.Firmware: gateway reports (deltas) add up; the last block completes the download once.</summary>
[Collection(GrainsCluster.Name)]
public sealed class FirmwareTests(GrainsClusterFixture cluster)
{
    private const long Total = 3 * 512;

    [Fact]
    public async Task Reported_blocks_add_up_and_the_last_block_completes_the_download_with_one_event()
    {
        var device = await cluster.ProvisionAsync("fw-progress");
        var start = cluster.Time.GetUtcNow();
        Assert.Null(await device.GetFirmwareProgress());

        Assert.True(await device.ReportFirmwareProgress(new FirmwareBlockReport("1.2.3", 1, 512, Total, false, start)));
        // A second gateway's report is a delta too: the twin sums them.
        await device.ReportFirmwareProgress(new FirmwareBlockReport("1.2.3", 1, 512, Total, false, start.AddSeconds(1)));
        var midway = (await device.GetFirmwareProgress())!;
        Assert.Equal(new FirmwareProgress("1.2.3", 2, 1024, Total, start, null, start.AddSeconds(1)), midway);
        Assert.DoesNotContain(DeviceEventTypes.FirmwareCompleted, cluster.Events.TypesOf("fw-progress"));

        await device.ReportFirmwareProgress(new FirmwareBlockReport("1.2.3", 1, 512, Total, true, start.AddSeconds(2)));
        var done = (await device.GetFirmwareProgress())!;
        Assert.Equal(new FirmwareProgress("1.2.3", 3, Total, Total, start, start.AddSeconds(2), start.AddSeconds(2)), done);
        Assert.Equal(done, (await device.GetTwin())!.Firmware);
        var e = Assert.Single(cluster.Events.Of("fw-progress"), e => e.Type == DeviceEventTypes.FirmwareCompleted);
        Assert.Equal(start.AddSeconds(2), e.At);
        Assert.Equal("1.2.3", e.Data!["version"]);
        Assert.Equal(Total, e.Data["bytes"]);

        // The last block served again (a retransmission, a second gateway) does not complete it twice.
        await device.ReportFirmwareProgress(new FirmwareBlockReport("1.2.3", 1, 512, Total, true, start.AddSeconds(3)));
        Assert.Equal(start.AddSeconds(2), (await device.GetFirmwareProgress())!.CompletedAt);
        Assert.Single(cluster.Events.Of("fw-progress"), e => e.Type == DeviceEventTypes.FirmwareCompleted);
    }

    [Fact]
    public async Task A_new_version_or_a_download_started_again_after_completion_restarts_the_progress()
    {
        var device = await cluster.ProvisionAsync("fw-restart");
        var start = cluster.Time.GetUtcNow();
        await device.ReportFirmwareProgress(new FirmwareBlockReport("1.0.0", 3, Total, Total, true, start));

        await device.ReportFirmwareProgress(new FirmwareBlockReport("1.0.0", 1, 512, Total, false, start.AddMinutes(1)));
        Assert.Equal(new FirmwareProgress("1.0.0", 1, 512, Total, start.AddMinutes(1), null, start.AddMinutes(1)), await device.GetFirmwareProgress());

        await device.ReportFirmwareProgress(new FirmwareBlockReport("2.0.0", 2, 1024, 4096, false, start.AddMinutes(2)));
        Assert.Equal(new FirmwareProgress("2.0.0", 2, 1024, 4096, start.AddMinutes(2), null, start.AddMinutes(2)), await device.GetFirmwareProgress());
    }

    [Fact]
    public async Task An_unknown_device_records_no_progress()
    {
        var nobody = cluster.Grains.GetGrain<IDeviceGrain>("fw-nobody");
        Assert.False(await nobody.ReportFirmwareProgress(new FirmwareBlockReport("1.0.0", 1, 512, Total, true, cluster.Time.GetUtcNow())));
        Assert.Null(await nobody.GetFirmwareProgress());
        Assert.Empty(cluster.Events.Of("fw-nobody"));
    }
}
