using NHub.Grains.Devices;

namespace NHub.Grains.Tests.Devices;

/// <summary>
/// The commands Observe relation kept with the twin (docs/commands.md, "Gateway restarts, failures and session moves"):
/// persisted at registration, resumed by the gateway that took over the registering DTLS session, and never sending a
/// delivered command again.
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class CommandObservationTests(GrainsClusterFixture cluster)
{
    private const int Cbor = 60;
    private static readonly byte[] Token = [0xA1, 0xB2, 0xC3];

    private static CommandRequest Command(string name) => new(name, null, 3600);

    private static CommandObservation Registration(Guid gatewayId, string sessionKey) =>
        new(gatewayId, "10.0.0.20:5684", DeviceTransport.Coaps, sessionKey, Token, Cbor);

    private async Task<CommandObservation?> PersistedAsync(IDeviceGrain device) =>
        (await cluster.ReadStoredStateAsync<DeviceState>("device", device))!.Observation;

    [Fact]
    public async Task The_relation_is_persisted_and_resumed_only_by_the_session_that_registered_it()
    {
        var device = await cluster.ProvisionAsync("obs-resume");
        var (gatewayA, gatewayB) = (Guid.NewGuid(), Guid.NewGuid());
        await device.EnqueueCommand(Command("reboot"));
        Assert.Single((await device.ObserveCommands(Registration(gatewayA, "dtls:s1")))!);

        var persisted = await PersistedAsync(device);
        Assert.Equal((gatewayA, "dtls:s1", Cbor), (persisted!.GatewayId, persisted.SessionKey, persisted.ContentFormat));
        Assert.Equal(Token, persisted.Token);

        Assert.Null(await device.ResumeObservingCommands(gatewayB, "dtls:s2"));
        Assert.Equal(gatewayA, (await PersistedAsync(device))!.GatewayId);

        var resumed = await device.ResumeObservingCommands(gatewayB, "dtls:s1");
        Assert.NotNull(resumed);
        Assert.Equal(Token, resumed.Token);
        Assert.Equal((Cbor, 1 << 16), (resumed.ContentFormat, resumed.ObserveSequence));
        // Sent by gateway A and never acknowledged: gateway B's first notification carries it.
        Assert.Equal("reboot", Assert.Single(resumed.Commands).Name);
        Assert.Equal(gatewayB, (await PersistedAsync(device))!.GatewayId);

        var again = await device.ResumeObservingCommands(Guid.NewGuid(), "dtls:s1");
        Assert.Equal(2 << 16, again!.ObserveSequence);
    }

    [Fact]
    public async Task After_a_resume_new_commands_go_to_the_new_gateway_and_the_old_one_cannot_end_the_relation()
    {
        var device = await cluster.ProvisionAsync("obs-moved");
        var (gatewayA, gatewayB) = (Guid.NewGuid(), Guid.NewGuid());
        Assert.Empty((await device.ObserveCommands(Registration(gatewayA, "dtls:m1")))!);
        Assert.NotNull(await device.ResumeObservingCommands(gatewayB, "dtls:m1"));

        // The old gateway learns it lost the session and ends its local relation: too late, it moved.
        await device.StopObservingCommands(gatewayA);
        Assert.Equal(gatewayB, (await PersistedAsync(device))!.GatewayId);

        await using (var gateway = await TestGateway.AttachAsync(cluster, gatewayB))
        {
            var pushed = await device.EnqueueCommand(Command("sync"));
            Assert.Equal(CommandStatus.Sent, pushed!.Status);
            Assert.Equal(pushed.Id, Assert.Single((await gateway.NextCommandsAsync()).Commands).Id);
        }

        await device.StopObservingCommands(gatewayB);
        Assert.Null(await PersistedAsync(device));
        Assert.Null(await device.ResumeObservingCommands(gatewayA, "dtls:m1"));
    }

    [Fact]
    public async Task A_resume_sends_a_queued_command_once_resends_an_unacknowledged_one_and_never_a_delivered_one()
    {
        var device = await cluster.ProvisionAsync("obs-once");
        var gatewayA = Guid.NewGuid();
        var first = await device.EnqueueCommand(Command("first"));
        var second = await device.EnqueueCommand(Command("second"));
        Assert.Equal(2, (await device.ObserveCommands(Registration(gatewayA, "dtls:o1")))!.Count);
        await device.CommandsDelivered([first!.Id]);
        // The notification carrying the second one timed out: back to queued.
        await device.CommandsNotDelivered([second!.Id]);
        Assert.Equal(CommandStatus.Queued, (await device.ListCommands())!.Single(c => c.Id == second.Id).Status);

        var resumed = await device.ResumeObservingCommands(Guid.NewGuid(), "dtls:o1");
        var carried = Assert.Single(resumed!.Commands);
        Assert.Equal((second.Id, CommandStatus.Sent), (carried.Id, carried.Status));
        Assert.Equal(CommandStatus.Sent, (await device.ListCommands())!.Single(c => c.Id == second.Id).Status);

        // Not acknowledged yet: the next holder carries it again (a device ignores an id it executed, docs/commands.md).
        var moved = await device.ResumeObservingCommands(Guid.NewGuid(), "dtls:o1");
        Assert.Equal(second.Id, Assert.Single(moved!.Commands).Id);

        await device.CommandsDelivered([second.Id]);
        Assert.Empty((await device.ResumeObservingCommands(Guid.NewGuid(), "dtls:o1"))!.Commands);
    }

    [Fact]
    public async Task A_new_registration_replaces_the_relation_and_restarts_the_sequence_hint()
    {
        var device = await cluster.ProvisionAsync("obs-again");
        await device.ObserveCommands(Registration(Guid.NewGuid(), "dtls:r1"));
        Assert.NotNull(await device.ResumeObservingCommands(Guid.NewGuid(), "dtls:r1"));

        var gatewayC = Guid.NewGuid();
        await device.ObserveCommands(Registration(gatewayC, "dtls:r2"));
        Assert.Null(await device.ResumeObservingCommands(Guid.NewGuid(), "dtls:r1"));
        var resumed = await device.ResumeObservingCommands(Guid.NewGuid(), "dtls:r2");
        Assert.Equal(1 << 16, resumed!.ObserveSequence);
    }

    [Fact]
    public async Task Unknown_devices_relations_without_a_session_and_oversized_tokens_are_refused()
    {
        Assert.Null(await cluster.Grains.GetGrain<IDeviceGrain>("obs-nobody").ResumeObservingCommands(Guid.NewGuid(), "dtls:x"));

        var device = await cluster.ProvisionAsync("obs-plain");
        await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.21:5683", DeviceTransport.Coap, null, [], 50));
        Assert.Null(await device.ResumeObservingCommands(Guid.NewGuid(), "dtls:x"));

        await Assert.ThrowsAsync<ArgumentException>(() => device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.21:5683",
            DeviceTransport.Coap, null, new byte[9], 50)));
    }
}
