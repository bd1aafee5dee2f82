using System.Net;
using System.Net.Sockets;

namespace NHub.Testing;

/// <summary>
/// Free loopback ports, never handed out twice in one test run. They are drawn below the kernel's ephemeral range
/// (ip_local_port_range), so a port checked free here cannot be taken meanwhile by some process's outgoing socket
/// (a load test or a DTLS test opening thousands of client sockets would otherwise steal it before the server binds).
/// </summary>
public static class FreePorts
{
    private static readonly HashSet<int> Issued = [];
    private static readonly Lock Gate = new();
    private static readonly (int Low, int High) Range = PickRange();

    /// <summary>A port free for both TCP and UDP on 127.0.0.1.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(Range.Low, Range.High);
                if (Issued.Contains(port) || !Bindable(port))
                {
                    continue;
                }
                Issued.Add(port);
                return port;
            }
            throw new InvalidOperationException($"No free loopback port found in {Range.Low}-{Range.High}");
        }
    }

    /// <summary>
    /// The first of <paramref name="count"/> consecutive free ports, all reserved: for a client that moves to the next
    /// port on its own (libcoap 4.3.5's <c>-d N</c> binds its current port + 1 and fails if that one is taken).
    /// </summary>
    public static int NextBlock(int count)
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var first = Random.Shared.Next(Range.Low, Range.High - count);
                var all = Enumerable.Range(first, count);
                if (all.Any(p => Issued.Contains(p) || !Bindable(p)))
                {
                    continue;
                }
                Issued.UnionWith(all);
                return first;
            }
            throw new InvalidOperationException($"No {count} consecutive free loopback ports found in {Range.Low}-{Range.High}");
        }
    }

    private static bool Bindable(int port)
    {
        try
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>10000 up to the start of the ephemeral range (Linux default 32768-60999).</summary>
    private static (int, int) PickRange()
    {
        var ephemeralLow = 32768;
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            ephemeralLow = int.Parse(text[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // Not Linux, or unreadable: assume the Linux default.
        }
        return ephemeralLow > 12000 ? (10000, ephemeralLow) : (1024, 65535);
    }
}
