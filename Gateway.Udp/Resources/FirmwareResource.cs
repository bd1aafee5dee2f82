using System.Collections.Concurrent;
using NHub.Gateway.Backend;

namespace NHub.Gateway.Resources;

/// <summary>
/// GET /firmware/{version}: the image from <see cref="FirmwareCache"/>, sliced by the stack's Block2 layer at whatever
/// size the device asks (ETag = image hash, Size2 with the first block). Progress goes to the device's grain,
/// throttled (<see cref="GatewayOptions.FirmwareProgressInterval"/>), and always at the last block.
/// </summary>
public sealed partial class FirmwareResource(FirmwareCache cache, DeviceGrainReferences devices, DeviceIdentityResolver identities, AutoProvisioner autoProvisioner,
    GatewayOptions gatewayOptions, CoapServerOptions coapOptions, TimeProvider time, ILogger<FirmwareResource> logger)
{
    public static readonly ResourceDescription Description = new("Firmware images (Block2)", "nhub.firmware", ContentFormat: ContentFormats.OctetStream);

    private sealed class Progress
    {
        public long Blocks;
        public long Bytes;
        public long LastReport;
    }

    private readonly ConcurrentDictionary<(string Device, string Version), Progress> _progress = new();

    public async ValueTask<CoapResponse> GetAsync(CoapRequestContext<PeerInfo> ctx)
    {
        var version = ctx.RouteValues["version"];
        var (authenticated, deviceId) = await identities.ResolveAsync(ctx.Peer, ctx.Aborted);
        if (authenticated && deviceId is null)
        {
            return CoapResponse.Text(CoapCode.Unauthorized, "the credential of this DTLS session is no longer valid");
        }
        deviceId ??= ctx.Request.GetQueryParameter("id");

        if (!FirmwareVersions.IsValid(version))
        {
            // Checked before anything is looked up: no string of the device's reaches a grain or the database.
            return CoapResponse.Text(CoapCode.NotFound, $"no such firmware: a version {FirmwareVersions.Rule}");
        }
        var image = await cache.GetAsync(version);
        if (image is null)
        {
            return CoapResponse.Text(CoapCode.NotFound, $"firmware {version} does not exist");
        }
        if (deviceId is not null && DeviceIds.IsValid(deviceId))
        {
            Track(deviceId, version, image.Content.Length, ctx.Request.Block2, authenticated ? null : ctx.Peer);
        }
        return new CoapResponse(CoapCode.Content)
        {
            ContentFormat = ContentFormats.OctetStream,
            Payload = image.Content,
            ETag = image.ETag,
        };
    }

    /// <summary>
    /// The block this request is served (the stack's own plan, <see cref="Block2Plan"/>), counted toward progress.
    /// <paramref name="plainPeer"/>: the plain-CoAP peer that named the device with <c>?id=</c> (auto-provisioned when unknown).
    /// </summary>
    private void Track(string deviceId, string version, int total, BlockOption? requested, PeerInfo? plainPeer)
    {
        if (!Block2Plan.TryPlan(total, requested, coapOptions, out _, out var offset, out var served))
        {
            return; // past the end: the stack answers 4.02, nothing was served
        }
        var last = offset + served >= total;
        var p = _progress.GetOrAdd((deviceId, version), _ => new Progress { LastReport = time.GetTimestamp() });
        long blocks, bytes;
        lock (p)
        {
            p.Blocks++;
            p.Bytes += served;
            if (!last && time.GetElapsedTime(p.LastReport) < gatewayOptions.FirmwareProgressInterval)
            {
                return;
            }
            blocks = p.Blocks;
            bytes = p.Bytes;
            p.Blocks = 0;
            p.Bytes = 0;
            p.LastReport = time.GetTimestamp();
        }
        if (last)
        {
            _progress.TryRemove((deviceId, version), out _);
        }
        _ = ReportAsync(deviceId, new FirmwareBlockReport(version, blocks, bytes, total, last, time.GetUtcNow()), plainPeer);
    }

    private async Task ReportAsync(string deviceId, FirmwareBlockReport report, PeerInfo? plainPeer)
    {
        try
        {
            var device = devices.Get(deviceId);
            if (!await device.ReportFirmwareProgress(report) && plainPeer is not null
                && await autoProvisioner.TryProvisionAsync(deviceId, plainPeer) is null)
            {
                await device.ReportFirmwareProgress(report);
            }
        }
        catch (Exception ex)
        {
            LogProgressFailed(logger, ex, deviceId, report.Version);
        }
    }

    [LoggerMessage(EventId = 5201, Level = LogLevel.Warning, Message = "Could not report firmware progress of {DeviceId} for {Version}")]
    private static partial void LogProgressFailed(ILogger logger, Exception ex, string deviceId, string version);
}
