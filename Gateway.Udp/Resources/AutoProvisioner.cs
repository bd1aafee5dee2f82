namespace NHub.Gateway.Resources;

/// <summary>
/// Development auto-provisioning at the gateway (<see cref="AutoProvisionOptions"/>, docs/device-guide.md): when a
/// plain-CoAP request names a device that does not exist, the resource asks here before answering 4.04. Bounded by a
/// per-source rate here (4.29 beyond it) and by the cluster-wide cap in <see cref="IAutoProvisioningGrain"/> (4.04
/// with a diagnostic beyond it). Never for DTLS: a DTLS peer is a provisioned device by construction. Ids that end
/// in "not provisioned" are remembered for <see cref="GatewayOptions.UnknownDeviceCacheTime"/> (<see cref="KnownMissing"/>),
/// so repeating them costs no grain call.
/// </summary>
public sealed partial class AutoProvisioner
{
    /// <summary>Sources tracked by the rate limiter; beyond this (all active) new ones pass to the device cap.</summary>
    private const int MaxTrackedSources = 10_000;

    private readonly IGrainFactory _grains;
    private readonly SourceRateLimiter _rate;
    private readonly uint _retryAfterSeconds;
    private readonly ILogger<AutoProvisioner> _logger;
    private readonly NegativeCache _missing;

    public AutoProvisioner(IGrainFactory grains, ResolvedGatewayOptions resolved, AutoProvisionOptions options, GatewayOptions gatewayOptions,
        TimeProvider time, ILogger<AutoProvisioner> logger)
    {
        _grains = grains;
        _missing = new NegativeCache(gatewayOptions.UnknownDeviceCacheTime, gatewayOptions.UnknownDeviceCacheEntries, time);
        _logger = logger;
        Enabled = resolved.AutoProvisionPlain;
        var perMinute = options.AutoProvisionPerSourcePerMinute;
        _rate = new SourceRateLimiter(perMinute / 60.0, perMinute, MaxTrackedSources, time);
        _retryAfterSeconds = (uint)Math.Max(1, (int)Math.Ceiling(60.0 / perMinute));
    }

    /// <summary>True when this gateway auto-provisions unknown plain-CoAP devices.</summary>
    public bool Enabled { get; }

    /// <summary>The answer for a request naming a device that does not exist.</summary>
    public static CoapResponse NotProvisioned(string deviceId) => CoapResponse.Text(CoapCode.NotFound, $"device {deviceId} is not provisioned");

    /// <summary>
    /// Called when a request from <paramref name="peer"/> named <paramref name="deviceId"/> and the grain answered
    /// "unknown device". Null: the device exists now, repeat the grain call. Otherwise the response to send.
    /// </summary>
    public async ValueTask<CoapResponse?> TryProvisionAsync(string deviceId, PeerInfo peer)
    {
        if (peer.Identity is not null || !DeviceIds.IsValid(deviceId))
        {
            return NotProvisioned(deviceId);
        }
        if (!Enabled)
        {
            _missing.Add(deviceId);
            return NotProvisioned(deviceId);
        }
        if (!_rate.TryAcquire(peer.EndPoint.Address))
        {
            LogRateLimited(_logger, deviceId, peer.EndPoint);
            return new CoapResponse(CoapCode.TooManyRequests)
            {
                // RFC 8516 §4: Max-Age is the time after which the client may try again.
                MaxAge = _retryAfterSeconds,
                Payload = System.Text.Encoding.UTF8.GetBytes(
                    $"device {deviceId} is not provisioned, and this source auto-provisioned too many devices recently (Devices:AutoProvisionPerSourcePerMinute)"),
            };
        }
        var outcome = await _grains.GetGrain<IAutoProvisioningGrain>(0).Provision(deviceId, peer.EndPoint.ToString(), DeviceTransport.Coap);
        if (outcome == AutoProvisionOutcome.Provisioned)
        {
            return null;
        }
        _missing.Add(deviceId);
        return CoapResponse.Text(CoapCode.NotFound,
                $"device {deviceId} is not provisioned, and auto-provisioning reached its cap (Devices:AutoProvisionMaxDevices): provision it through the API");
    }

    /// <summary>
    /// True while a plain-CoAP request naming <paramref name="deviceId"/> is known to end in "not provisioned": the
    /// resource answers <see cref="NotProvisioned"/> without calling the grain. Always false for DTLS peers.
    /// </summary>
    public bool KnownMissing(string deviceId, PeerInfo peer) => peer.Identity is null && _missing.Contains(deviceId);

    [LoggerMessage(EventId = 5301, Level = LogLevel.Debug, Message = "Auto-provisioning of {DeviceId} refused for {Peer}: source rate exceeded")]
    private static partial void LogRateLimited(ILogger logger, string deviceId, System.Net.IPEndPoint peer);
}
