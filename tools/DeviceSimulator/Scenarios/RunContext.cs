using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using NHub.DeviceSimulator.Api;
using NHub.DeviceSimulator.Devices;
using NHub.DeviceSimulator.Dtls;
using NHub.DeviceSimulator.Metrics;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>What every scenario shares: options, credentials, devices, the handshake pool, the counters.</summary>
internal sealed class RunContext(SimulatorOptions options, IReadOnlyList<DeviceCredential> credentials, IPEndPoint server,
    ManagementApiClient? api, ProcessProbe? serverProbe) : IDisposable
{
    private HandshakePool? _handshakes;
    private Timer? _sweeper;
    private readonly List<SimDevice> _devices = [];
    private long _setupTicks;

    public SimulatorOptions Options { get; } = options;
    public IReadOnlyList<DeviceCredential> Credentials { get; } = credentials;
    public IPEndPoint Server { get; } = server;
    public ManagementApiClient? Api { get; } = api;
    public ProcessProbe? ServerProbe { get; } = serverProbe;
    public LatencyHistogram Latency { get; } = new();
    public OutcomeCounter Outcomes { get; } = new();
    public LinkCounters Link { get; } = new();
    public IReadOnlyList<SimDevice> Devices => _devices;

    /// <summary>--rebind-every: the devices' NAT rebindings (null when off).</summary>
    public SourcePortRebinding? Rebinding { get; } = options.RebindEvery > TimeSpan.Zero ? new SourcePortRebinding(options.RebindEvery) : null;

    /// <summary>Established sessions to which the server gave a Connection ID (RFC 9146).</summary>
    public int ConnectionIdSessions => _connectionIdSessions;

    private int _connectionIdSessions;

    public HandshakePool Handshakes => _handshakes ??= new HandshakePool(Options.HandshakeThreads, SimPskClient.ParseSuites(Options.CipherSuites),
        (int)Options.HandshakeTimeout.TotalMilliseconds);

    public bool HasHandshakes => _handshakes is not null;

    /// <summary>Seconds the setup (sockets, handshakes, registrations) took.</summary>
    public double SetupSeconds => _setupTicks / (double)Stopwatch.Frequency;

    /// <summary>The local address of the n-th device's socket: 127.0.0.1, 127.0.0.2, … for --bind-addresses > 1 (Linux routes 127/8 to lo).</summary>
    public IPAddress BindAddressFor(int n)
    {
        if (Server.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return IPAddress.IPv6Any;
        }
        if (!IPAddress.IsLoopback(Server.Address))
        {
            return IPAddress.Any;
        }
        var spread = Math.Max(1, Options.BindAddresses);
        return new IPAddress([127, 0, 0, (byte)(1 + (n % spread))]);
    }

    public SimDevice NewDevice(int n, Org.BouncyCastle.Tls.TlsSession? resume = null) => NewDevice(Credentials[n % Credentials.Count], BindAddressFor(n), resume);

    /// <summary>--certificate: the certificate every device authenticates with (null: PSK).</summary>
    public SimClientCertificate? Certificate { get; } = options.Certificate is { } path ? SimClientCertificate.Load(path, options.CertificateKey!) : null;

    private SimDevice NewDevice(DeviceCredential credential, IPAddress bind, Org.BouncyCastle.Tls.TlsSession? resume = null) => new(credential, Server, bind, Link)
    {
        Certificate = Certificate,
        ResumeSession = resume,
        OfferedConnectionId = Options.ConnectionId switch
        {
            "on" => [],
            "own" => RandomNumberGenerator.GetBytes(4),
            _ => null,
        },
    };

    /// <summary>
    /// Opens the device's socket, runs its DTLS handshake through the pool (none for plain CoAP) and starts its
    /// receive loop; from then on it is one of <see cref="Devices"/> (in <paramref name="replacing"/>'s place, if
    /// given), swept for timeouts and closed with the rest. A device whose handshake failed is disposed: false.
    /// </summary>
    public async Task<bool> TryConnectAsync(SimDevice device, SimDevice? replacing = null)
    {
        device.Open();
        if (Options.Dtls && !await Handshakes.ConnectAsync(device).ConfigureAwait(false))
        {
            device.Dispose();
            return false;
        }
        device.StartReceiving();
        if (device.ServerConnectionId is not null)
        {
            Interlocked.Increment(ref _connectionIdSessions);
        }
        lock (_devices)
        {
            if (replacing is not null && _devices.IndexOf(replacing) is var at and >= 0)
            {
                _devices[at] = device;
            }
            else
            {
                _devices.Add(device);
            }
            _sweepSetStale = true;
        }
        return true;
    }

    /// <summary>
    /// A device that lost its session (the server forgot it, or it failed) reconnects as a new device of the same
    /// credential: a new socket and, for DTLS, a full handshake. Retries every <paramref name="backoff"/> until it is
    /// connected or <paramref name="deadline"/> passes (null then). The old device is closed and the timeout
    /// sweeper follows the new one.
    /// </summary>
    public async Task<SimDevice?> ReconnectAsync(SimDevice old, TimeSpan backoff, long deadline, CancellationToken ct)
    {
        old.Close(notify: false);
        while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
        {
            var device = NewDevice(old.Credential, old.BindAddress);
            if (await TryConnectAsync(device, replacing: old).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _reconnects);
                return device;
            }
            await QuietDelay.WaitAsync(backoff, ct).ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>Devices that reconnected (<see cref="ReconnectAsync"/>) during the run.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    private long _reconnects;

    /// <summary>What the sweeper walks: a copy of <see cref="Devices"/>, made again after the list changed.</summary>
    private SimDevice[] _sweepSet = [];
    private bool _sweepSetStale;

    /// <summary>
    /// Creates every device, opens its socket, runs the DTLS handshakes through the pool (bounded concurrency) and
    /// starts the receive loops. Devices whose handshake failed are closed and left out. Progress goes to <paramref name="report"/>.
    /// </summary>
    public async Task ConnectAllAsync(Action<string> report, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var count = Options.Devices;
        var connects = new List<Task>(count);
        var connected = 0;
        for (var n = 0; n < count && !ct.IsCancellationRequested; n++)
        {
            connects.Add(ConnectOneAsync(NewDevice(n)));
        }
        async Task ConnectOneAsync(SimDevice device)
        {
            if (await TryConnectAsync(device).ConfigureAwait(false))
            {
                Interlocked.Increment(ref connected);
            }
        }
        var all = Task.WhenAll(connects);
        while (await Task.WhenAny(all, Task.Delay(1000, ct)).ConfigureAwait(false) != all)
        {
            report($"handshakes {Volatile.Read(ref connected)}/{count}, failed {Handshakes.Failures.Total}");
        }
        _setupTicks = Stopwatch.GetTimestamp() - started;
        StartTimeoutSweeper();
    }

    /// <summary>One timer fails every request older than --timeout (no timer or token per request).</summary>
    public void StartTimeoutSweeper()
    {
        var timeoutTicks = (long)(Options.Timeout.TotalSeconds * Stopwatch.Frequency);
        _sweeper ??= new Timer(_ =>
        {
            var now = Stopwatch.GetTimestamp();
            lock (_devices)
            {
                if (_sweepSetStale)
                {
                    _sweepSet = [.. _devices];
                    _sweepSetStale = false;
                }
            }
            foreach (var d in _sweepSet)
            {
                d.CheckTimeout(now, timeoutTicks);
            }
        }, null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Requests started before this timestamp (the --warmup phase) are not recorded.</summary>
    public long MeasureFrom { get; set; }

    /// <summary>Records a request's outcome and, for a response, its latency (not for a warm-up request).</summary>
    public void Record(Reply reply, long startedTimestamp)
    {
        if (startedTimestamp < MeasureFrom)
        {
            return;
        }
        switch (reply.Status)
        {
            case ReplyStatus.Response:
                Latency.Record((long)Stopwatch.GetElapsedTime(startedTimestamp).TotalMicroseconds);
                Outcomes.Add(reply.Code);
                break;
            case ReplyStatus.Timeout:
                Outcomes.Add("timeout");
                break;
            case ReplyStatus.Reset:
                Outcomes.Add("reset");
                break;
            default:
                Outcomes.Add(reply.Failure ?? "failed");
                break;
        }
    }

    public void Dispose()
    {
        _sweeper?.Dispose();
        lock (_devices)
        {
            foreach (var d in _devices)
            {
                d.Close(notify: Options.Dtls);
            }
        }
        _handshakes?.Dispose();
    }
}
