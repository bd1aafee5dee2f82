using System.Text;
using NHub.Grains;
using NHub.Testing;
using Orleans.Streams;

namespace NHub.Integration.Tests.Devices;

/// <summary>The device twin's flows at the grain boundary, on a production silo (real PostgreSQL + NATS JetStream).</summary>
[Collection(PlatformServersCollection.Name)]
public sealed class DeviceFlowTests(PlatformServersFixture servers) : IAsyncLifetime
{
    private ProductionSilo _platform = null!;

    public async Task InitializeAsync() => _platform = await ProductionSilo.StartAsync(servers);

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    private async Task<IDeviceGrain> ProvisionAsync(string id)
    {
        var device = _platform.Grains.GetGrain<IDeviceGrain>(id);
        await device.Provision(new DeviceRecord(id, "KM-3", "SN-" + id, "86918107" + id, null));
        return device;
    }

    private static TelemetryReport Report(string json, string exchange) =>
        new(50, Encoding.UTF8.GetBytes(json), DateTimeOffset.UtcNow, exchange, DeviceTransport.Coaps, "127.0.0.1:40000");

    [Fact]
    public async Task Telemetry_is_published_to_jetstream_with_the_envelope_headers_and_a_retransmission_is_stored_once()
    {
        var device = await ProvisionAsync("tel001");
        var first = await device.ReportTelemetry(Report("{\"t\":23.5}", "peer-a/mid-17"));
        var again = await device.ReportTelemetry(Report("{\"t\":23.5}", "peer-a/mid-17"));
        var second = await device.ReportTelemetry(Report("{\"t\":24.0}", "peer-a/mid-18"));
        Assert.True(first.Outcome == TelemetryOutcome.Accepted, $"{first.Outcome}: {first.Detail}\n{_platform.Silo.Output}");
        Assert.Equal(TelemetryOutcome.Accepted, again.Outcome);
        Assert.Equal(TelemetryOutcome.Accepted, second.Outcome);

        var stored = await JetStreamReader.ReadAllAsync(_platform.Nats.Url, _platform.TelemetryStream, $"{_platform.TelemetryPrefix}.tel001");
        Assert.Equal(2, stored.Count);
        Assert.Equal("{\"t\":23.5}", Encoding.UTF8.GetString(stored[0].Data!));
        var h = stored[0].Headers!;
        Assert.Equal("tel001", h["NHub-Device-Id"].ToString());
        Assert.Equal("50", h["NHub-Content-Format"].ToString());
        Assert.Equal("application/json", h["Content-Type"].ToString());
        Assert.Equal("coaps", h["NHub-Transport"].ToString());
        Assert.True(DateTimeOffset.TryParse(h["NHub-Received-At"].ToString(), out _));
        Assert.Equal("tel001:peer-a/mid-17", h["Nats-Msg-Id"].ToString());

        var twin = await device.GetTwin();
        Assert.True(twin!.Connectivity.Online);
        var recent = await device.GetRecentTelemetry(10);
        Assert.Equal(2, recent!.Count);
        Assert.Equal("{\"t\":24.0}", Encoding.UTF8.GetString(recent[0].Payload));
    }

    [Fact]
    public async Task Telemetry_gets_unavailable_while_nats_is_down_and_is_accepted_again_when_it_is_back_without_restarting_anything()
    {
        var device = await ProvisionAsync("tel002");
        Assert.Equal(TelemetryOutcome.Accepted, (await device.ReportTelemetry(Report("{}", "x/1"))).Outcome);

        await _platform.Nats.StopServerAsync();
        TelemetryResult down;
        try
        {
            down = await device.ReportTelemetry(Report("{}", "x/2"));
        }
        finally
        {
            await _platform.Nats.StartServerAsync();
        }
        Assert.Equal(TelemetryOutcome.Unavailable, down.Outcome);
        Assert.True(down.RetryAfterSeconds > 0);

        // The client reconnects on its own schedule; a device retries after Max-Age. Retry the same way, bounded.
        TelemetryResult back = down;
        for (var attempt = 0; attempt < 30 && back.Outcome != TelemetryOutcome.Accepted; attempt++)
        {
            back = await device.ReportTelemetry(Report("{}", "x/3"));
        }
        Assert.Equal(TelemetryOutcome.Accepted, back.Outcome);
    }

    [Fact]
    public async Task Unknown_device_telemetry_is_refused()
    {
        var result = await _platform.Grains.GetGrain<IDeviceGrain>("never-provisioned").ReportTelemetry(Report("{}", "y/1"));
        Assert.Equal(TelemetryOutcome.UnknownDevice, result.Outcome);
    }

    [Fact]
    public async Task A_credential_is_issued_once_resolves_by_identity_and_its_revocation_reaches_subscribers_within_a_second()
    {
        var device = await ProvisionAsync("cred001");
        var issued = await device.IssueCredential(PskFormat.Ascii);
        Assert.Equal(IssueOutcome.Issued, issued.Outcome);
        var credential = issued.Credential!;
        Assert.Equal("koru-cred001", credential.Summary.PskIdentity);
        Assert.Matches("^[0-9a-f]{64}$", credential.PskKey);

        var lookup = await _platform.Grains.GetGrain<IPskIdentityGrain>("koru-cred001").Lookup();
        Assert.NotNull(lookup);
        Assert.Equal("cred001", lookup.DeviceId);
        Assert.Equal(Encoding.ASCII.GetBytes(credential.PskKey), lookup.Key);

        Assert.Equal(IssueOutcome.ActiveCredentialExists, (await device.IssueCredential(PskFormat.Ascii)).Outcome);

        var revoked = new TaskCompletionSource<CredentialRevoked>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stream = _platform.Grains.GetStreamProvider(PlatformStreams.ProviderName)
            .GetStream<CredentialRevoked>(StreamId.Create(PlatformStreams.CredentialRevocations, Guid.Empty));
        var handle = await stream.SubscribeAsync((e, _) =>
        {
            if (e.PskIdentity == "koru-cred001")
            {
                revoked.TrySetResult(e);
            }
            return Task.CompletedTask;
        });
        var started = DateTimeOffset.UtcNow;
        Assert.True(await device.RevokeCredential(credential.Summary.Id));
        var pushed = await _platform.WithSiloLog(revoked.Task, TimeSpan.FromSeconds(10));
        var latency = DateTimeOffset.UtcNow - started;
        await handle.UnsubscribeAsync();
        Assert.Equal("cred001", pushed.DeviceId);
        Assert.True(latency < TimeSpan.FromSeconds(1), $"revocation took {latency.TotalMilliseconds} ms to reach a gateway");

        var after = await _platform.Grains.GetGrain<IPskIdentityGrain>("koru-cred001").Lookup();
        Assert.Equal(CredentialStatus.Revoked, after!.Status);
        Assert.Empty(after.Key);

        // Rotation: once revoked, a new credential can be issued; binary format is the 32 decoded bytes.
        var rotated = await device.IssueCredential(PskFormat.Binary);
        Assert.Equal(IssueOutcome.Issued, rotated.Outcome);
        var binary = await _platform.Grains.GetGrain<IPskIdentityGrain>("koru-cred001").Lookup();
        Assert.Equal(Convert.FromHexString(rotated.Credential!.PskKey), binary!.Key);
    }

    [Fact]
    public async Task Commands_go_queued_then_sent_at_registration_pushed_to_the_observing_gateway_and_delivered_on_ack()
    {
        var device = await ProvisionAsync("cmd001");
        var queued = await device.EnqueueCommand(new CommandRequest("reboot", "{\"delay\":5}", 3600));
        Assert.Equal(CommandStatus.Queued, queued!.Status);

        // The device registers at a gateway: the pending command comes back for the initial notification.
        var gatewayId = Guid.NewGuid();
        var pending = await device.ObserveCommands(new CommandObservation(gatewayId, "127.0.0.1:5000", DeviceTransport.Coaps, null, [], 50));
        Assert.Equal([queued.Id], pending!.Select(c => c.Id));
        Assert.All(pending!, c => Assert.Equal(CommandStatus.Sent, c.Status));

        // While observed, a new command is pushed to that gateway (through its gateway grain, to its observer).
        var gateway = await RecordingGatewayObserver.AttachAsync(_platform.Grains, gatewayId);
        var pushed = await device.EnqueueCommand(new CommandRequest("set_interval", "{\"seconds\":60}", 3600));
        var received = await _platform.WithSiloLog(gateway.NextCommandsAsync(TimeSpan.FromSeconds(10)), TimeSpan.FromSeconds(10));
        await _platform.Grains.GetGrain<IGatewayGrain>(gatewayId).Detach();
        Assert.Equal("cmd001", received.DeviceId);
        Assert.Equal(pushed!.Id, Assert.Single(received.Commands).Id);

        await device.CommandsDelivered([queued.Id, pushed.Id]);
        var listed = await device.ListCommands();
        Assert.All(listed!, c => Assert.Equal(CommandStatus.Delivered, c.Status));
        Assert.Equal(0, (await device.GetTwin())!.PendingCommands);
    }

    [Fact]
    public async Task Credentials_pending_commands_and_firmware_progress_survive_a_silo_restart()
    {
        var device = await ProvisionAsync("persist01");
        var credential = (await device.IssueCredential(PskFormat.Ascii)).Credential!;
        var command = await device.EnqueueCommand(new CommandRequest("reboot", null, 3600));
        var now = DateTimeOffset.UtcNow;
        await device.ReportFirmwareProgress(new FirmwareBlockReport("1.2.3", 300, 307_200, 307_200, true, now));

        await _platform.RestartSiloAsync();

        device = _platform.Grains.GetGrain<IDeviceGrain>("persist01");
        var twin = await device.GetTwin();
        Assert.NotNull(twin);
        var summary = Assert.Single(twin.Credentials);
        Assert.Equal(credential.Summary.Id, summary.Id);
        Assert.Equal(CredentialStatus.Active, summary.Status);
        Assert.Equal(1, twin.PendingCommands);
        Assert.Equal(command!.Id, Assert.Single((await device.ListCommands())!).Id);
        Assert.Equal("1.2.3", twin.Firmware!.Version);
        Assert.NotNull(twin.Firmware.CompletedAt);
        // The key survives encrypted at rest and still resolves after the restart.
        var lookup = await _platform.Grains.GetGrain<IPskIdentityGrain>(credential.Summary.PskIdentity).Lookup();
        Assert.Equal(Encoding.ASCII.GetBytes(credential.PskKey), lookup!.Key);
    }
}
