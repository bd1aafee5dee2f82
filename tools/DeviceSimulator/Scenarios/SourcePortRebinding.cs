using System.Diagnostics;
using NHub.DeviceSimulator.Devices;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// --rebind-every S: every device moves to a new source port about every S seconds, as a device behind a carrier NAT
/// whose binding expired does (issue #12). Each device gets a random phase and each interval ±25 % jitter, so the
/// devices do not all move at once. A move happens between two requests of the device (never with a request in
/// flight: a NAT rebinds while the device is quiet), so with RFC 9146 Connection IDs no request should be lost and no
/// handshake needed; without them the server cannot place the new address and the requests time out.
/// </summary>
internal sealed class SourcePortRebinding(TimeSpan every)
{
    private readonly long _everyTicks = (long)(every.TotalSeconds * Stopwatch.Frequency);
    private long _done;
    private long _failed;

    /// <summary>Moves done (a new socket took over), counted from the start of the measured window.</summary>
    public long Done => Interlocked.Read(ref _done);

    /// <summary>Moves that found no new socket (the device kept its old one).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>When a device's first move is due: a random point in the first interval.</summary>
    public long FirstDue(long now) => now + (long)(Random.Shared.NextDouble() * _everyTicks);

    /// <summary>
    /// Before a request: moves <paramref name="device"/> when its move is due and returns when the next one is
    /// (unchanged when none was due). Moves before <paramref name="measureFrom"/> (the warm-up) are not counted.
    /// </summary>
    public long RebindIfDue(SimDevice device, long due, long measureFrom)
    {
        var now = Stopwatch.GetTimestamp();
        if (now < due)
        {
            return due;
        }
        var moved = device.Rebind();
        if (now >= measureFrom)
        {
            Interlocked.Increment(ref moved ? ref _done : ref _failed);
        }
        return now + (long)(_everyTicks * (0.75 + 0.5 * Random.Shared.NextDouble()));
    }
}
