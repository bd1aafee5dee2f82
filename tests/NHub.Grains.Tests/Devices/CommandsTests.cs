using NHub.Grains.Gateways;
using NHub.Grains.Services;

namespace NHub.Grains.Tests.Devices;

/// <summary>
/// DeviceGrain.Commands: queued → sent (at Observe registration, or pushed to the observing gateway)
/// → delivered on the device's ACK; cancelled by the portal; expired when the TTL passes first.
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class CommandsTests(GrainsClusterFixture cluster)
{
    private static CommandRequest Command(string name, int ttlSeconds = 3600) => new(name, "{\"delay\":5}", ttlSeconds);

    [Fact]
    public async Task A_command_is_queued_then_sent_at_observe_registration_then_delivered_on_ack()
    {
        var device = await cluster.ProvisionAsync("cmd-life");
        var created = cluster.Time.GetUtcNow();
        var queued = await device.EnqueueCommand(Command("reboot"));
        Assert.Equal(CommandStatus.Queued, queued!.Status);
        Assert.Equal(created.AddSeconds(3600), queued.ExpiresAt);
        Assert.Null(queued.SentAt);
        Assert.Equal(1, (await device.GetTwin())!.PendingCommands);

        cluster.Time.Advance(TimeSpan.FromSeconds(10));
        var pending = await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.8:5000", DeviceTransport.Coaps, null, [], 50));
        var sent = Assert.Single(pending!);
        Assert.Equal(queued.Id, sent.Id);
        Assert.Equal(CommandStatus.Sent, sent.Status);
        Assert.Equal(cluster.Time.GetUtcNow(), sent.SentAt);
        // Registering is a message from the device: it is online now.
        Assert.True((await device.GetTwin())!.Connectivity.Online);

        cluster.Time.Advance(TimeSpan.FromSeconds(2));
        await device.CommandsDelivered([queued.Id]);
        var delivered = Assert.Single((await device.ListCommands())!);
        Assert.Equal(CommandStatus.Delivered, delivered.Status);
        Assert.Equal(cluster.Time.GetUtcNow(), delivered.DeliveredAt);
        Assert.Equal(0, (await device.GetTwin())!.PendingCommands);
        var e = Assert.Single(cluster.Events.Of("cmd-life"), e => e.Type == DeviceEventTypes.CommandDelivered);
        Assert.Equal(queued.Id, e.Data!["command_id"]);
        Assert.Equal("reboot", e.Data["name"]);
    }

    [Fact]
    public async Task A_delivery_is_counted_once_when_the_ack_is_reported_again()
    {
        var device = await cluster.ProvisionAsync("cmd-once");
        var command = await device.EnqueueCommand(Command("reboot"));
        await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.8:5000", DeviceTransport.Coap, null, [], 50));
        await device.CommandsDelivered([command!.Id]);
        var first = Assert.Single((await device.ListCommands())!).DeliveredAt;

        // A retransmitted ACK, or a second gateway reporting the same notification.
        cluster.Time.Advance(TimeSpan.FromSeconds(30));
        await device.CommandsDelivered([command.Id]);
        await device.CommandsNotDelivered([command.Id]);

        var listed = Assert.Single((await device.ListCommands())!);
        Assert.Equal(CommandStatus.Delivered, listed.Status);
        Assert.Equal(first, listed.DeliveredAt);
        Assert.Single(cluster.Events.Of("cmd-once"), e => e.Type == DeviceEventTypes.CommandDelivered);
    }

    [Fact]
    public async Task A_command_enqueued_while_observed_is_pushed_to_that_gateway_as_sent()
    {
        var device = await cluster.ProvisionAsync("cmd-push");
        await using var gateway = await TestGateway.AttachAsync(cluster);
        Assert.Empty((await device.ObserveCommands(new CommandObservation(gateway.Id, "10.0.0.8:5000", DeviceTransport.Coaps, null, [], 50)))!);

        var pushed = await device.EnqueueCommand(Command("set_interval"));
        Assert.Equal(CommandStatus.Sent, pushed!.Status);
        var received = await gateway.NextCommandsAsync();
        Assert.Equal("cmd-push", received.DeviceId);
        Assert.Equal(pushed.Id, Assert.Single(received.Commands).Id);
    }

    [Fact]
    public async Task A_command_for_a_gateway_that_is_gone_stays_queued_and_the_next_registration_carries_it()
    {
        var device = await cluster.ProvisionAsync("cmd-gone");
        var gateway = await TestGateway.AttachAsync(cluster);
        Assert.Empty((await device.ObserveCommands(new CommandObservation(gateway.Id, "10.0.0.8:5000", DeviceTransport.Coaps, null, [], 50)))!);

        // Killed: no detach, no refresh. Within three refresh periods a push still goes out (and is lost with the
        // process); after them the grain says so, and the command is not marked sent.
        cluster.Time.Advance(TestGateway.RefreshPeriod * GatewayGrain.MissedRefreshesBeforeGone);
        Assert.Equal(CommandStatus.Sent, (await device.EnqueueCommand(Command("first")))!.Status);
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(CommandStatus.Queued, (await device.EnqueueCommand(Command("second")))!.Status);

        // Both come with the next registration, the one lost with the process included.
        var pending = await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.8:5001", DeviceTransport.Coaps, null, [], 50));
        Assert.Equal(["first", "second"], pending!.Select(c => c.Name));
        await gateway.DisposeAsync();
    }

    [Fact]
    public async Task A_notification_not_acknowledged_puts_the_command_back_to_queued_and_the_next_registration_sends_it_again()
    {
        var device = await cluster.ProvisionAsync("cmd-nack");
        var gatewayId = Guid.NewGuid();
        var command = await device.EnqueueCommand(Command("reboot"));
        Assert.Single((await device.ObserveCommands(new CommandObservation(gatewayId, "10.0.0.8:5000", DeviceTransport.Coaps, null, [], 50)))!);

        await device.CommandsNotDelivered([command!.Id]);
        await device.StopObservingCommands(gatewayId);
        var listed = Assert.Single((await device.ListCommands())!);
        Assert.Equal(CommandStatus.Queued, listed.Status);
        Assert.Null(listed.SentAt);

        // No observer now: a new command stays queued instead of being pushed to the old gateway.
        Assert.Equal(CommandStatus.Queued, (await device.EnqueueCommand(Command("ping")))!.Status);
        var again = await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.9:5000", DeviceTransport.Coaps, null, [], 50));
        Assert.Equal(2, again!.Count);
        Assert.Contains(again, c => c.Id == command.Id);
        Assert.All(again, c => Assert.Equal(CommandStatus.Sent, c.Status));
    }

    [Fact]
    public async Task A_pending_command_can_be_cancelled_once_and_is_then_neither_pending_nor_sent()
    {
        var device = await cluster.ProvisionAsync("cmd-cancel");
        var command = await device.EnqueueCommand(Command("reboot"));

        Assert.Equal(CancelOutcome.Cancelled, await device.CancelCommand(command!.Id));
        Assert.Equal(CancelOutcome.NotPending, await device.CancelCommand(command.Id));
        Assert.Equal(CancelOutcome.NotFound, await device.CancelCommand(Guid.NewGuid()));

        Assert.Equal(CommandStatus.Cancelled, Assert.Single((await device.ListCommands())!).Status);
        Assert.Equal(0, (await device.GetTwin())!.PendingCommands);
        Assert.Empty((await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.8:5000", DeviceTransport.Coaps, null, [], 50)))!);
        // An ACK that arrives for a cancelled command does not resurrect it.
        await device.CommandsDelivered([command.Id]);
        Assert.Equal(CommandStatus.Cancelled, Assert.Single((await device.ListCommands())!).Status);
    }

    [Fact]
    public async Task A_command_expires_when_its_ttl_passes_before_delivery_and_is_not_sent_afterwards()
    {
        var device = await cluster.ProvisionAsync("cmd-ttl");
        var command = await device.EnqueueCommand(Command("reboot", ttlSeconds: 60));

        cluster.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(CommandStatus.Queued, Assert.Single((await device.ListCommands())!).Status);

        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(CommandStatus.Expired, Assert.Single((await device.ListCommands())!).Status);
        Assert.Equal(0, (await device.GetTwin())!.PendingCommands);
        Assert.Empty((await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.8:5000", DeviceTransport.Coaps, null, [], 50)))!);
        Assert.Equal(CancelOutcome.NotPending, await device.CancelCommand(command!.Id));
        await device.CommandsDelivered([command.Id]);
        Assert.Equal(CommandStatus.Expired, Assert.Single((await device.ListCommands())!).Status);
        Assert.DoesNotContain(DeviceEventTypes.CommandDelivered, cluster.Events.TypesOf("cmd-ttl"));
    }

    [Fact]
    public async Task Bad_requests_are_refused_and_an_unknown_device_gets_no_command()
    {
        var device = await cluster.ProvisionAsync("cmd-bad");
        await Assert.ThrowsAsync<ArgumentException>(() => device.EnqueueCommand(new CommandRequest(" ", null, 60)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => device.EnqueueCommand(new CommandRequest("reboot", null, 0)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => device.EnqueueCommand(new CommandRequest("reboot", null, 30 * 24 * 3600 + 1)));

        // The fixture allows 3 pending commands (Devices:MaxPendingCommands).
        for (var i = 0; i < 3; i++)
        {
            await device.EnqueueCommand(Command("c" + i));
        }
        await Assert.ThrowsAsync<InvalidOperationException>(() => device.EnqueueCommand(Command("c3")));
        Assert.Equal(3, (await device.ListCommands())!.Count);

        Assert.Null(await cluster.Grains.GetGrain<IDeviceGrain>("cmd-nobody").EnqueueCommand(Command("reboot")));
        Assert.Null(await cluster.Grains.GetGrain<IDeviceGrain>("cmd-nobody").ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.8:5000", DeviceTransport.Coaps, null, [], 50)));
    }
}
