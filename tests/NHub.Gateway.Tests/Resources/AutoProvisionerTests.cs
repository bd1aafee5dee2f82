using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Resources;
using NHub.Gateway.Transport;
using NHub.Grains;

namespace NHub.Gateway.Tests.Resources;

/// <summary>The unknown-device memory of <see cref="AutoProvisioner"/> (no grain is reached on these paths).</summary>
public sealed class AutoProvisionerTests
{
    private readonly FakeTimeProvider _time = new();
    private static readonly PeerInfo Plain = new(new IPEndPoint(IPAddress.Loopback, 40000), TransportKind.Udp, null, 1);
    private static readonly PeerInfo Dtls = new(new IPEndPoint(IPAddress.Loopback, 40001), TransportKind.Dtls, "koru-x", 2);

    private AutoProvisioner Create() => new(grains: null!, new ResolvedGatewayOptions(PlainMode.Enabled, true, Guid.NewGuid(), AutoProvisionPlain: false),
        new AutoProvisionOptions(), new GatewayOptions { UnknownDeviceCacheTime = TimeSpan.FromSeconds(5) }, _time, NullLogger<AutoProvisioner>.Instance);

    [Fact]
    public async Task A_plain_device_found_not_provisioned_is_answered_from_memory_for_the_cache_time_and_dtls_never()
    {
        var provisioner = Create();
        Assert.False(provisioner.KnownMissing("meter-1", Plain));

        var answer = await provisioner.TryProvisionAsync("meter-1", Plain);
        Assert.Equal(NHub.Coap.CoapCode.NotFound, answer!.Code);
        Assert.True(provisioner.KnownMissing("meter-1", Plain));
        Assert.False(provisioner.KnownMissing("meter-1", Dtls)); // an authenticated device exists by construction
        Assert.False(provisioner.KnownMissing("meter-2", Plain));

        _time.Advance(TimeSpan.FromSeconds(5.1)); // created through the API meanwhile: served again after the cache time
        Assert.False(provisioner.KnownMissing("meter-1", Plain));
    }
}
