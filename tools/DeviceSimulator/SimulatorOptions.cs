using System.Globalization;

namespace NHub.DeviceSimulator;

/// <summary>The command line (see <see cref="Usage"/>): <c>--name value</c> pairs after an optional subcommand.</summary>
public sealed record SimulatorOptions(IReadOnlyDictionary<string, string> Values, string Command)
{
    public static readonly string[] Scenarios = ["telemetry", "get", "handshakes", "observe-commands", "firmware", "sessions", "telemetry-audit", "device-flood", "observe-ping"];

    private static readonly HashSet<string> Known =
    [
        "scenario", "target", "transport", "devices", "device-offset", "device-prefix", "rate", "duration", "timeout", "payload", "json",
        "credentials", "provision", "api", "api-key", "psk-identity", "psk-key", "psk-format", "provision-concurrency", "out",
        "handshake-threads", "handshake-timeout", "cipher-suites", "bind-addresses", "firmware-version", "block-size", "sha256",
        "command-rate", "command-concurrency", "server-pid", "settle", "ready-file", "start-file", "processes", "warmup",
        "control", "control-interval", "datagrams", "sockets", "seed", "baseline", "after",
        "retransmits", "retry-after", "reconnect-backoff", "acked", "nats", "stream",
        "cid", "rebind-every", "uplink-every", "mark-file", "command-sample", "command-after", "command-before", "answers",
        "close-notify", "certificate", "certificate-key", "resume",
    ];

    public static SimulatorOptions Parse(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "run";
        if (command is not ("run" or "provision" or "flood" or "stream-audit"))
        {
            throw new ArgumentException($"Unknown command '{command}' (run, provision, flood, stream-audit)");
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = command == "run" && (args.Length == 0 || args[0] != "run") ? 0 : 1; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected --name value, got '{args[i]}'");
            }
            var name = args[i][2..];
            if (!Known.Contains(name))
            {
                throw new ArgumentException($"Unknown option --{name}");
            }
            map[name] = args[i + 1];
        }
        var options = new SimulatorOptions(map, command);
        if (command == "run" && !Scenarios.Contains(options.Scenario))
        {
            throw new ArgumentException($"--scenario must be one of {string.Join(", ", Scenarios)}");
        }
        if (options.Target.Scheme is not ("coap" or "coaps" or "coap+tcp" or "coaps+tcp"))
        {
            throw new ArgumentException("--target must be a coap://, coaps://, coap+tcp:// or coaps+tcp:// URI");
        }
        if (options.Transport is not ("plain" or "dtls" or "tcp" or "tls"))
        {
            throw new ArgumentException("--transport must be plain or dtls (coap+tcp:// and coaps+tcp:// imply tcp and tls)");
        }
        if (options.IsStream && (options.Scenario is not ("telemetry" or "get") || options.Rate > 0))
        {
            throw new ArgumentException("coap+tcp:// and coaps+tcp:// targets run the telemetry and get scenarios, flat out (no --rate)");
        }
        if (options.Warmup > TimeSpan.Zero && options.Scenario is not ("telemetry" or "get"))
        {
            throw new ArgumentException("--warmup applies to the telemetry and get scenarios");
        }
        if (options.Warmup < TimeSpan.Zero)
        {
            throw new ArgumentException("--warmup must not be negative");
        }
        if (options.ConnectionId is not ("off" or "on" or "own"))
        {
            throw new ArgumentException("--cid must be off, on or own");
        }
        if (options.ConnectionId != "off" && !options.Dtls)
        {
            throw new ArgumentException("--cid needs DTLS (a coaps:// target)");
        }
        if (options.CloseNotifyText is not ("on" or "off"))
        {
            throw new ArgumentException("--close-notify must be on or off");
        }
        if (options.RebindEvery < TimeSpan.Zero)
        {
            throw new ArgumentException("--rebind-every must not be negative");
        }
        if (options.Processes < 1 || (options.Processes > 1 && (command != "run" || options.Scenario is not ("telemetry" or "get" or "sessions" or "handshakes"))))
        {
            throw new ArgumentException("--processes N (N >= 1) runs the telemetry, get, sessions and handshakes scenarios");
        }
        if (options.Processes > options.Devices)
        {
            throw new ArgumentException("--processes must not exceed --devices");
        }
        if (options.RebindEvery > TimeSpan.Zero && options.Scenario is not ("telemetry" or "get"))
        {
            throw new ArgumentException("--rebind-every applies to the telemetry and get scenarios");
        }
        return options;
    }

    private string Get(string key, string fallback) => Values.TryGetValue(key, out var v) ? v : fallback;

    private string? Find(string key) => Values.GetValueOrDefault(key);

    private int Int(string key, int fallback) => int.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    private double Double(string key, double fallback) => double.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public string Scenario => Get("scenario", "telemetry");

    /// <summary>Server and (for telemetry/get) path; coaps:// implies --transport dtls.</summary>
    public Uri Target => new(Get("target", Scenario switch
    {
        "get" => "coap://127.0.0.1:5683/.well-known/core",
        "telemetry" => "coap://127.0.0.1:5683/telemetry",
        _ => Find("transport") == "dtls" ? "coaps://127.0.0.1:5684" : "coap://127.0.0.1:5683",
    }));

    public string Transport => Get("transport", Target.Scheme switch { "coaps" => "dtls", "coap+tcp" => "tcp", "coaps+tcp" => "tls", _ => "plain" });

    /// <summary>RFC 8323 targets (coap+tcp://, coaps+tcp://): one connection per device.</summary>
    public bool IsStream => Target.Scheme is "coap+tcp" or "coaps+tcp";

    public bool Dtls => Transport == "dtls";

    public int Devices => Int("devices", 100);
    public int DeviceOffset => Int("device-offset", 0);
    public string DevicePrefix => Get("device-prefix", "sim");
    public double Rate => Double("rate", 0);
    public TimeSpan Duration => TimeSpan.FromSeconds(Double("duration", 10));
    public TimeSpan Timeout => TimeSpan.FromSeconds(Double("timeout", 5));
    public string Payload => Get("payload", "{\"temperature\":23.5,\"humidity\":45.2}");
    public string? JsonOutput => Find("json");
    public string? CredentialsFile => Find("credentials");
    public string? Provision => Find("provision");
    public Uri? Api => Find("api") is { } a ? new Uri(a) : null;
    public string? ApiKey => Find("api-key") ?? Environment.GetEnvironmentVariable("NHUB_API_KEY");
    /// <summary>--certificate FILE --certificate-key FILE: every device authenticates with this X.509 certificate (PEM, chain after it) and ECDSA key, over ECDHE-ECDSA.</summary>
    public string? Certificate => Find("certificate");
    public string? CertificateKey => Find("certificate-key");

    /// <summary>--resume on|off (handshakes, with --certificate): each handshake thread offers its previous session for resumption (RFC 5246 §7.3).</summary>
    public bool Resume => Get("resume", "off") == "on";

    public string? PskIdentity => Find("psk-identity");
    public string? PskKey => Find("psk-key");
    public string PskFormat => Get("psk-format", "ascii");
    public int ProvisionConcurrency => Int("provision-concurrency", 32);
    public string? Out => Find("out");
    public int HandshakeThreads => Int("handshake-threads", 32);
    public TimeSpan HandshakeTimeout => TimeSpan.FromSeconds(Double("handshake-timeout", 10));
    public string CipherSuites => Get("cipher-suites", Certificate is null ? "ccm8" : "ecdsa-ccm8");
    public int BindAddresses => Int("bind-addresses", 1);
    public string? FirmwareVersion => Find("firmware-version");
    public int BlockSize => Int("block-size", 512);
    public string? Sha256 => Find("sha256");
    public double CommandRate => Double("command-rate", 100);
    public int CommandConcurrency => Int("command-concurrency", 32);
    public int? ServerPid => Find("server-pid") is { } p ? int.Parse(p, CultureInfo.InvariantCulture) : null;
    public TimeSpan Settle => TimeSpan.FromSeconds(Double("settle", 0));
    public TimeSpan Warmup => TimeSpan.FromSeconds(Double("warmup", 0));
    public string? ReadyFile => Find("ready-file");

    /// <summary>--start-file FILE: after setup (and --ready-file), wait for FILE to exist before the run starts.</summary>
    public string? StartFile => Find("start-file");

    /// <summary>--processes N: spread the devices over N simulator processes and sum their reports (<see cref="ProcessFleet"/>).</summary>
    public int Processes => Int("processes", 1);

    // telemetry-audit and stream-audit
    public int Retransmits => Int("retransmits", 2);
    public TimeSpan RetryAfter => TimeSpan.FromSeconds(Double("retry-after", 0.5));
    public TimeSpan ReconnectBackoff => TimeSpan.FromSeconds(Double("reconnect-backoff", 0.2));
    public string? AckedFile => Find("acked");
    public string? NatsUrl => Find("nats");
    public string Stream => Get("stream", "NHUB_TELEMETRY");

    /// <summary>--cid: off (no connection_id extension), on (the empty one: use the server's CID), own (also a 4-byte CID of the device's).</summary>
    public string ConnectionId => Get("cid", "off");

    /// <summary>--close-notify on|off (handshakes): end each session with a close_notify (default), or just drop the socket, as a device that keeps its session would.</summary>
    public bool CloseNotify => CloseNotifyText == "on";

    private string CloseNotifyText => Get("close-notify", "on");

    /// <summary>--rebind-every S: each device moves to a new source port about every S seconds (0 = never).</summary>
    public TimeSpan RebindEvery => TimeSpan.FromSeconds(Double("rebind-every", 0));

    // observe-ping
    /// <summary>--uplink-every S: each device's CoAP ping interval (observe-ping).</summary>
    public TimeSpan UplinkEvery => TimeSpan.FromSeconds(Double("uplink-every", 10));
    public string? MarkFile => Find("mark-file");
    public string? AnswersFile => Find("answers");
    public int CommandSample => Int("command-sample", 0);
    public TimeSpan CommandAfter => TimeSpan.FromSeconds(Double("command-after", 0));
    public TimeSpan CommandBefore => TimeSpan.FromSeconds(Double("command-before", 0));

    // flood
    public Uri? Control => Find("control") is { } c ? new Uri(c) : null;
    public int ControlIntervalMs => Int("control-interval", 50);
    public long Datagrams => long.Parse(Get("datagrams", "1000000"), CultureInfo.InvariantCulture);
    public int Sockets => Int("sockets", 16);
    public int Seed => Int("seed", 1);
    public TimeSpan Baseline => TimeSpan.FromSeconds(Double("baseline", 3));
    public TimeSpan After => TimeSpan.FromSeconds(Double("after", 10));

    public const string Usage = """
        NHub device simulator: N virtual CoAP devices (plain or DTLS 1.2 PSK), each with its own UDP port and one
        confirmable request in flight (NSTART = 1), against our gateway or any CoAP server.

          NHub.DeviceSimulator [run] --scenario S [options]
          NHub.DeviceSimulator flood --target coap://127.0.0.1:P --control coap://127.0.0.1:P/telemetry?id=D [options]
          NHub.DeviceSimulator provision --api URL --api-key K --devices N --out creds.csv [--device-prefix P] [--device-offset K] [--psk-format ascii|binary]

        Scenarios (--scenario):
          telemetry          POST JSON to the target path (?id=<device> added); --rate R in total, 0 = flat out
          get                GET the target path (e.g. /.well-known/core), --rate as above
          handshakes         handshake storm: full DTLS PSK handshakes (new socket, handshake, close_notify) on
                             --handshake-threads threads for --duration; handshakes/s, failures by alert
          observe-commands   every device observes /commands/<id>; commands are posted through the REST API at
                             --command-rate/s; latency = POST sent -> notification received; notifications ACKed
          firmware           every device downloads --firmware-version with Block2 at --block-size again and again,
                             verifying the SHA-256 (from the API, or --sha256); blocks/s
          telemetry-audit    numbered readings {"seq":N,"device":"id"}, each kept until 2.01: retransmitted (same
                             Message ID) after --timeout up to --retransmits times (2), then the device reconnects
                             (new socket, new handshake, every --reconnect-backoff S, 0.2) and sends it again; after
                             an error code again after --retry-after S (0.5); --acked FILE lists every 2.01
          device-flood       one device sends NON telemetry open-loop at --rate/s (5000) on one session, answers not
                             awaited; probes every 100 ms: the same device in a second session (CON), another device
                             (the second credential), and GET devices/{id} of the flooder (--api, --api-key)
          observe-ping       every DTLS device observes /commands/<id> and sends a CoAP ping (empty CON, answered
                             by RST) every --uplink-every S (10), retransmitted after --timeout up to --retransmits
                             times (2); never handshakes again. --mark-file FILE: once FILE holds a Unix time in ms
                             (a gateway killed), per device the first answer to a ping sent after it, by gateway
                             node (the CID's first byte); --command-sample K posts a command to K devices
                             --command-after S (0) after the mark (--api, --api-key): delivered, missing, twice;
                             --command-before S: the same S s into the run, before the mark (a control)
                             --answers FILE writes each device's figures after the mark (CSV)
          sessions           open --devices DTLS sessions, each with an Observe relation, hold them for --duration;
                             with --server-pid reports the server's RSS and thread count (from /proc)

        Target and transport:
          --target URI                coap://host:port/path or coaps://host:port/path (defaults per scenario)
          --transport plain|dtls      default from the scheme
          --devices N                 virtual devices (default 100); ids are <prefix><offset>..<prefix><offset+N-1>
          --device-prefix P, --device-offset K     (default sim, 0)
          --bind-addresses N          spread device sockets over 127.0.0.1..127.0.0.N (more than ~28k ports; loopback only)
          --duration S, --timeout S   run time (10) and per-request timeout (5); no retransmission, a loss is a timeout
          --rate R                    requests/s in total (telemetry, get); 0 = each device as fast as answers come
          --payload JSON              telemetry body
          --json FILE                 also write the result as JSON

        DTLS credentials (one of):
          --credentials FILE          CSV device_id,psk_identity,psk_key[,psk_format]
          --provision api             create the devices and issue PSK credentials through the REST API
          --psk-identity I --psk-key K   one credential for every device (for servers like libcoap's)
          --certificate F --certificate-key K   every device uses this X.509 certificate (PEM) and ECDSA key
                                      instead of a PSK (ECDHE-ECDSA; --cipher-suites ecdsa-ccm8 or ecdsa-gcm)
          --resume on|off             handshakes: offer the thread's previous session for resumption (default off)
          --api URL --api-key K       management API (http://host:port); the key may also come from NHUB_API_KEY
          --psk-format ascii|binary   key format to request when provisioning (default ascii)
          --provision-concurrency C   parallel API calls (default 32)
          --handshake-threads T       concurrent handshakes (default 32); --handshake-timeout S (default 10)
          --cipher-suites LIST        ccm8,ccm,gcm,cbc (default ccm8, RFC 7252's mandatory suite)
          --cid off|on|own            RFC 9146 Connection ID: on offers the empty connection_id extension (the
                                      device writes the server's CID, receives none), own also asks the server to
                                      write a 4-byte CID of the device's; default off
          --close-notify on|off       handshakes: end each session with close_notify (default on; off: the
                                      server keeps it, and a stored session stays stored, as for a real device)

        Scenario settings:
          --firmware-version V, --block-size B (16..1024, default 512), --sha256 HEX
          --command-rate R (commands/s, default 100), --command-concurrency C (parallel POSTs, default 32)
          --server-pid PID            sample the server process (RSS, threads, CPU) during the run
          --settle S                  wait S seconds after setup before measuring (sessions: lets the server settle)
          --warmup S                  telemetry, get: send for S seconds first, unmeasured (JIT tiering, caches,
                                      the server's and ours), then measure for --duration
          --ready-file FILE           create FILE when setup is done (scripts running several simulators wait for all)
          --start-file FILE           after setup, wait until FILE exists before running (ready/start: one window for all)
          --processes N               telemetry, get, sessions, handshakes: run N simulator processes, each with its
                                      share of the devices (offsets follow on), started together after all are set up,
                                      and print one report summing theirs (latency from the merged histograms; the
                                      generator's CPU is the sum of the processes'); --handshake-threads is per process
          --rebind-every S            telemetry, get: each device moves to a new UDP socket (new source port, as after
                                      a NAT rebinding) about every S seconds, between two of its requests, jittered
                                      per device; the DTLS session stays (with --cid it should survive)
        Stream audit (after a telemetry-audit run; exit 1 if an acknowledged reading is missing or stored twice
        under one request):
          NHub.DeviceSimulator stream-audit --nats nats://host:port --acked FILE [--stream NHUB_TELEMETRY] [--json FILE]
        Flood (malformed CoAP to a coap:// target, malformed DTLS records to coaps://; loopback only):
          --datagrams N (1000000), --rate R (datagrams/s, 0 = flat out), --sockets K source ports (16), --seed S (1)
          --control URI               a provisioned device that POSTs telemetry every --control-interval ms (50)
                                      before (--baseline S, 3), during and --after S (10) the flood; its latency
          --server-pid PID            the server's RSS before, at its peak and after
        Ctrl+C or SIGTERM ends the run early; the summary and JSON still cover what was measured.
        """;
}
