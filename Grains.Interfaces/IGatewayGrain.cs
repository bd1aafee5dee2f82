using Orleans.Concurrency;

namespace NHub.Grains;

/// <summary>
/// What the cluster pushes to one running gateway process: commands for the devices observing there, and the
/// sessions another gateway took from it. One-way: the sender never waits on a gateway, so a gateway that died
/// (whose messages Orleans holds until it gives the client up) delays nobody.
/// </summary>
[Alias("nhub.IGatewayObserver")]
public interface IGatewayObserver : IGrainObserver
{
    /// <summary>Notify this device's command observers of these commands (docs/commands.md).</summary>
    [OneWay, Alias("Commands")]
    Task Commands(DownlinkCommands downlink);

    /// <summary>Drop the local copy of a session another gateway took over (docs/stateless-gateway.md).</summary>
    [OneWay, Alias("SessionMoved")]
    Task SessionMoved(DtlsSessionMoved moved);
}

/// <summary>
/// The cluster's handle on one gateway process (key: its <c>GatewayIdentity</c> id, fresh at each start). The
/// gateway attaches its <see cref="IGatewayObserver"/> at start and again every status report period, and detaches
/// when it stops cleanly. Grains push to a gateway through here, by id, without knowing whether it is alive.
/// </summary>
/// <remarks>
/// Why not a stream per gateway (which is what this replaced): the persistent-stream agents keep delivering to a
/// subscription until Orleans declares its client gone, each attempt waiting out the 30 s response timeout, and the
/// queue cache they share fills behind that cursor, so one dead gateway held up the commands of every live one
/// (bench/RESULTS.md, "Gateway takeover"). A push is only a hint: the twin keeps every command until the device
/// acknowledges it, and a resume or a registration sends whatever is still pending.
/// </remarks>
[Alias("nhub.IGatewayGrain")]
public interface IGatewayGrain : IGrainWithGuidKey
{
    /// <summary>The gateway is up and reachable through <paramref name="observer"/>; sent again every <paramref name="refreshPeriod"/>.</summary>
    [Alias("Attach")]
    Task Attach(IGatewayObserver observer, TimeSpan refreshPeriod);

    /// <summary>The gateway stopped cleanly: nothing more is pushed to it.</summary>
    [Alias("Detach")]
    Task Detach();

    /// <summary>Hands <paramref name="downlink"/> to the gateway; false when none is attached (the commands stay queued).</summary>
    [Alias("PushCommands")]
    Task<bool> PushCommands(DownlinkCommands downlink);

    /// <summary>Tells the gateway one of its sessions moved; false when none is attached.</summary>
    [Alias("SessionMoved")]
    Task<bool> SessionMoved(DtlsSessionMoved moved);
}
