using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// A NAT between a real client and the gateway, on loopback: the client sends to <see cref="EndPoint"/>; the NAT
/// forwards from its current outside socket, whose address the gateway sees. <see cref="Rebind"/> is what a carrier
/// NAT does to a sleeping device: a new outside address and port from now on, and the old mapping gone (what the
/// gateway sends there is counted in <see cref="Lost"/> and never reaches the client).
/// </summary>
public sealed class UdpNat : IDisposable
{
    private readonly IPEndPoint _server;
    private readonly Socket _inside;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Socket> _outside = [];
    private Socket _current;
    private EndPoint? _client;
    private int _lost;
    private long _rebindAt;
    private long _firstUplinkAfterRebind;

    public UdpNat(IPEndPoint server)
    {
        _server = server;
        _inside = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _inside.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _current = OpenOutside(IPAddress.Loopback);
        _ = Task.Run(InsideLoopAsync);
    }

    /// <summary>Where the client sends.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_inside.LocalEndPoint!;

    /// <summary>The address the gateway sees now.</summary>
    public IPEndPoint OutsideEndPoint => (IPEndPoint)_current.LocalEndPoint!;

    /// <summary>Datagrams the gateway sent to an outside address the NAT had given up.</summary>
    public int Lost => Volatile.Read(ref _lost);

    /// <summary>Decides, for each uplink datagram (its number, its bytes), whether to rebind first and to which address.</summary>
    public Func<int, byte[], IPAddress?>? RebindBeforeUplink { get; set; }

    /// <summary>Decides, for each downlink datagram, whether it is lost on the way to the client.</summary>
    public Func<byte[], bool>? DropDownlink { get; set; }

    /// <summary>Stopwatch timestamp of the first uplink forwarded after the last rebind (0: none yet).</summary>
    public long FirstUplinkAfterRebind => Volatile.Read(ref _firstUplinkAfterRebind);

    public int Uplinks { get; private set; }

    /// <summary>New outside address and port (<paramref name="address"/>, default 127.0.0.1); the old mapping is dead.</summary>
    public void Rebind(IPAddress? address = null)
    {
        var next = OpenOutside(address ?? IPAddress.Loopback);
        lock (_gate)
        {
            _current = next;
            _rebindAt = Stopwatch.GetTimestamp();
            _firstUplinkAfterRebind = 0;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _inside.Dispose();
        lock (_gate)
        {
            foreach (var socket in _outside)
            {
                socket.Dispose();
            }
        }
        _stop.Dispose();
    }

    private Socket OpenOutside(IPAddress address)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        lock (_gate)
        {
            _outside.Add(socket);
        }
        _ = Task.Run(() => OutsideLoopAsync(socket));
        return socket;
    }

    private Task InsideLoopAsync() => UdpRelay.ReceiveAllAsync(_inside, async (client, datagram) =>
    {
        _client = client;
        var number = ++Uplinks;
        if (RebindBeforeUplink?.Invoke(number, datagram) is { } address)
        {
            Rebind(address);
        }
        Socket outside;
        lock (_gate)
        {
            outside = _current;
            if (_firstUplinkAfterRebind == 0 && _rebindAt != 0)
            {
                _firstUplinkAfterRebind = Stopwatch.GetTimestamp();
            }
        }
        await UdpRelay.SendAsync(outside, datagram, _server, _stop.Token);
    }, _stop.Token);

    private Task OutsideLoopAsync(Socket socket) => UdpRelay.ReceiveAllAsync(socket, async (_, datagram) =>
    {
        bool current;
        lock (_gate)
        {
            current = ReferenceEquals(socket, _current);
        }
        if (!current)
        {
            Interlocked.Increment(ref _lost); // the mapping is gone: nobody gets this
            return;
        }
        if (DropDownlink?.Invoke(datagram) == true || _client is not { } client)
        {
            return;
        }
        await UdpRelay.SendAsync(_inside, datagram, client, _stop.Token);
    }, _stop.Token);
}
