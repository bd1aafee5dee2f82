using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// A UDP load balancer on loopback in front of several gateways, routing as a cloud NLB or a Kubernetes Service does:
/// by flow (the client's address and port), each new flow to the next live backend in turn, and a flow stays with its
/// backend while that backend is live. <see cref="MarkDown"/> is the health check failing: that backend's flows go to
/// the live ones. A client that changes its source port (a NAT rebinding, libcoap's <c>-d N</c>) is a new flow, so
/// round robin moves it to another gateway: what the stateless gateway must survive.
/// </summary>
public sealed class UdpBalancer : IDisposable
{
    private readonly Socket _inside;
    private readonly IPEndPoint?[] _backends;
    private readonly bool[] _down;
    private readonly ConcurrentDictionary<EndPoint, Flow> _flows = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private int _next;

    private sealed class Flow(EndPoint client, Socket outside, int backend)
    {
        public EndPoint Client { get; } = client;
        public Socket Outside { get; } = outside;
        public int Backend { get; set; } = backend;
    }

    public UdpBalancer(params IPEndPoint[] backends)
    {
        _backends = [.. backends];
        _down = new bool[backends.Length];
        _inside = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _inside.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _ = Task.Run(InsideLoopAsync);
    }

    /// <summary>Where clients send.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_inside.LocalEndPoint!;

    /// <summary>
    /// (epoch, sequence number) of every protected DTLS record the gateways sent towards clients (RFC 6347 §4.1 header,
    /// first record of each datagram), in order: what an observer on the wire sees of the AEAD nonces.
    /// </summary>
    public ConcurrentQueue<(int Epoch, long Sequence)> DownlinkRecords { get; } = new();

    /// <summary>Decides, for each downlink datagram, whether it is lost on the way to the client.</summary>
    public Func<byte[], bool>? DropDownlink { get; set; }

    /// <summary>Uplink datagrams forwarded to each backend.</summary>
    public int[] Forwarded { get; private set; } = [];

    /// <summary>The health check fails for backend <paramref name="index"/>: its flows move to the live backends.</summary>
    public void MarkDown(int index)
    {
        lock (_gate)
        {
            _down[index] = true;
        }
    }

    /// <summary>Backend <paramref name="index"/> is (again) a live process at <paramref name="endPoint"/>.</summary>
    public void SetBackend(int index, IPEndPoint endPoint)
    {
        lock (_gate)
        {
            _backends[index] = endPoint;
            _down[index] = false;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _inside.Dispose();
        foreach (var flow in _flows.Values)
        {
            flow.Outside.Dispose();
        }
        _stop.Dispose();
    }

    private int NextLiveLocked()
    {
        for (var i = 0; i < _backends.Length; i++)
        {
            var candidate = (_next + i) % _backends.Length;
            if (!_down[candidate] && _backends[candidate] is not null)
            {
                _next = candidate + 1;
                return candidate;
            }
        }
        return -1;
    }

    private Task InsideLoopAsync() => UdpRelay.ReceiveAllAsync(_inside, async (client, datagram) =>
    {
        IPEndPoint? target;
        Flow flow;
        lock (_gate)
        {
            if (!_flows.TryGetValue(client, out flow!))
            {
                var backend = NextLiveLocked();
                if (backend < 0)
                {
                    return; // nothing live: the datagram is lost
                }
                var outside = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                outside.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                flow = new Flow(client, outside, backend);
                _flows[client] = flow;
                _ = Task.Run(() => OutsideLoopAsync(flow));
            }
            else if (_down[flow.Backend])
            {
                var backend = NextLiveLocked();
                if (backend < 0)
                {
                    return;
                }
                flow.Backend = backend;
            }
            target = _backends[flow.Backend];
            if (Forwarded.Length != _backends.Length)
            {
                Forwarded = new int[_backends.Length];
            }
            Forwarded[flow.Backend]++;
        }
        await UdpRelay.SendAsync(flow.Outside, datagram, target!, _stop.Token);
    }, _stop.Token);

    private Task OutsideLoopAsync(Flow flow) => UdpRelay.ReceiveAllAsync(flow.Outside, async (_, datagram) =>
    {
        var epoch = datagram.Length >= 13 ? (datagram[3] << 8) | datagram[4] : 0;
        if (datagram.Length >= 13 && datagram[0] is 21 or 23 or 25 && epoch > 0)
        {
            var sequence = ((long)datagram[5] << 40) | ((long)datagram[6] << 32) | ((long)datagram[7] << 24) | ((long)datagram[8] << 16) | ((long)datagram[9] << 8) | datagram[10];
            DownlinkRecords.Enqueue((epoch, sequence));
        }
        if (DropDownlink?.Invoke(datagram) == true)
        {
            return;
        }
        await UdpRelay.SendAsync(_inside, datagram, flow.Client, _stop.Token);
    }, _stop.Token);
}
