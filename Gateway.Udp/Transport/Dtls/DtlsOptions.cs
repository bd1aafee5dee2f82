using System.ComponentModel.DataAnnotations;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>CoAP over DTLS 1.2 with PSK (RFC 7252 §9.1.3.1) transport settings (section <c>Gateway:Dtls</c>).</summary>
public sealed class DtlsOptions : IValidatableObject
{
    public const string Section = "Gateway:Dtls";

    /// <summary>Bind address. <c>::</c> binds one dual-mode socket serving IPv4 and IPv6.</summary>
    [Required(ErrorMessage = "Gateway:Dtls:BindAddress must be set")]
    public string BindAddress { get; set; } = "::";

    /// <summary>RFC 7252 §6.2: the default port of coaps:// is 5684.</summary>
    [Range(0, 65535, ErrorMessage = "Gateway:Dtls:Port must be between 0 and 65535")]
    public int Port { get; set; } = 5684;

    /// <summary>
    /// Cipher suites in the server's order of preference (the server's order wins). Empty (the default) means
    /// <see cref="DtlsCipherSuites.DefaultOrder"/>: TLS_PSK_WITH_AES_128_CCM_8 (mandatory for PSK devices, RFC 7252
    /// §9.1.3.1), then GCM and CBC for stacks that lack CCM. Empty rather than pre-filled because configuration
    /// binding appends to a pre-filled list instead of replacing it.
    /// </summary>
    public IList<string> CipherSuites { get; set; } = [];

    /// <summary>The gateway's certificate for the ECDHE-ECDSA suites (section <c>Gateway:Dtls:Certificate</c>).</summary>
    public DtlsCertificateOptions Certificate { get; set; } = new();

    /// <summary>
    /// Certificate and raw-key sessions kept in this process for resumption by session id (RFC 5246 §7.3): a device
    /// reconnecting after its session ended skips ECDHE and both signatures. 0 turns resumption off. About 2–3 KiB
    /// each (the session's parameters and the device's certificate).
    /// </summary>
    [Range(0, 10_000_000, ErrorMessage = "Gateway:Dtls:ResumptionCacheSize must be between 0 (off) and 10000000")]
    public int ResumptionCacheSize { get; set; } = 20_000;

    /// <summary>How long a session can be resumed after its full handshake; RFC 5246 §F.1.4 suggests at most 24 h.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00", ErrorMessage = "Gateway:Dtls:ResumptionLifetime must be between 1 min and 24 h")]
    public TimeSpan ResumptionLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary><see cref="CipherSuites"/>, or the default order when none is configured.</summary>
    public IReadOnlyList<string> EffectiveCipherSuites => CipherSuites.Count > 0 ? [.. CipherSuites] : DtlsCipherSuites.DefaultOrder;

    /// <summary>
    /// Largest datagram accepted and sent (record header and MAC included). Larger datagrams are dropped and
    /// counted; the CoAP layer above should keep messages within RFC 7252 §4.6's 1152 bytes.
    /// </summary>
    [Range(256, 65507, ErrorMessage = "Gateway:Dtls:MaxDatagramSize must be between 256 and 65507")]
    public int MaxDatagramSize { get; set; } = 1500;

    /// <summary>Live sessions plus handshakes in progress; ClientHellos beyond it are dropped (counted "max_peers").</summary>
    [Range(1, 10_000_000, ErrorMessage = "Gateway:Dtls:MaxPeers must be between 1 and 10000000")]
    public int MaxPeers { get; set; } = 100_000;

    /// <summary>
    /// Dedicated threads running BouncyCastle's blocking handshake (one handshake each at a time). A handshake
    /// costs ~1 ms of CPU but holds its thread for the round trips (a few hundred ms on NB-IoT), hence more threads
    /// than cores. Established sessions hold no thread.
    /// </summary>
    [Range(1, 1024, ErrorMessage = "Gateway:Dtls:HandshakeThreads must be between 1 and 1024")]
    public int HandshakeThreads { get; set; } = 32;

    /// <summary>Cookie-verified handshakes waiting for a handshake thread. Overflow: dropped and counted ("handshake_queue_full"); the client retransmits.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Gateway:Dtls:HandshakeQueueCapacity must be between 1 and 1000000")]
    public int HandshakeQueueCapacity { get; set; } = 1024;

    /// <summary>A handshake not finished within this fails (BouncyCastle's default is never, which lets a wrong-key client pin a peer).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Gateway:Dtls:HandshakeTimeout must be between 1 s and 10 min")]
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Sessions idle longer than this are dropped silently (no close_notify: the device is asleep). NB-IoT devices
    /// in PSM sleep for hours between reports, and each new handshake costs them radio time and battery (RFC 7925
    /// §10 recommends keeping sessions across sleep); 6 h keeps a device that reports every few hours on one session
    /// while a gateway with 100k peers still reclaims the memory of devices that went away.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00", ErrorMessage = "Gateway:Dtls:SessionIdleTimeout must be between 1 s and 30 days")]
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(6);

    /// <summary>
    /// How often the HelloVerifyRequest cookie secret changes (RFC 6347 §4.2.1); cookies of the previous secret stay
    /// valid for one more period, so a cookie lives one to two periods. A cookie only has to survive one round trip
    /// (the client echoes it at once, even with NB-IoT latency and retransmissions well under a minute), and a
    /// rotation costs 32 random bytes, so the default is short: 5 min bounds how long a cookie harvested by someone
    /// briefly able to receive at an address (a spoofed source's neighbour, a former NAT mapping) can open handshakes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Gateway:Dtls:CookieSecretRotation must be between 1 s and 1 day")]
    public TimeSpan CookieSecretRotation { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often idle sessions and stuck handshakes are swept.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00", ErrorMessage = "Gateway:Dtls:SweepInterval must be between 100 ms and 1 h")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// New handshakes per source IP per second (token bucket refill). Applied after the cookie exchange, so the
    /// source address is proven and a spoofer cannot spend a victim's budget. Generous by default: carrier-grade NAT
    /// puts many NB-IoT devices behind one address.
    /// </summary>
    [Range(0.01, 1_000_000, ErrorMessage = "Gateway:Dtls:HandshakesPerSecondPerIp must be between 0.01 and 1000000")]
    public double HandshakesPerSecondPerIp { get; set; } = 20;

    /// <summary>
    /// Token bucket size: handshakes one source IP may start at once (e.g. a NAT'ed fleet rebooting). A handshake that
    /// authenticates gives its token back, so for honest devices this bounds handshakes in progress, and the rate above
    /// applies to failing ones (docs/handshake-limits.md).
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "Gateway:Dtls:HandshakeBurstPerIp must be between 1 and 1000000")]
    public int HandshakeBurstPerIp { get; set; } = 100;

    /// <summary>Source IPs tracked by the rate limiter; past it, full (idle) buckets are forgotten.</summary>
    [Range(16, 10_000_000, ErrorMessage = "Gateway:Dtls:RateLimiterMaxAddresses must be between 16 and 10000000")]
    public int RateLimiterMaxAddresses { get; set; } = 100_000;

    /// <summary>Datagrams a peer may have waiting (handshake flights, or records between two pumps); overflow dropped and counted.</summary>
    [Range(1, 1024, ErrorMessage = "Gateway:Dtls:PeerQueueCapacity must be between 1 and 1024")]
    public int PeerQueueCapacity { get; set; } = 16;

    /// <summary>
    /// Receive threads, each with its own socket on the port (Linux SO_REUSEPORT: the kernel keeps each peer on one
    /// socket, so its records stay in order); records are decrypted there under each peer's lock, and what the CoAP
    /// stack answers synchronously (ACKs, duplicates, inline resources) is answered there too. Requests with an
    /// asynchronous handler go on to workers on the thread pool (<see cref="DeliveryQueueCapacity"/>). 0 (the default): one per
    /// core. Without SO_REUSEPORT support, one socket shared by the threads.
    /// </summary>
    [Range(0, 64, ErrorMessage = "Gateway:Dtls:ReceiveLoops must be between 0 and 64")]
    public int ReceiveLoops { get; set; }

    /// <summary>Workers that hand queued records to the CoAP stack (as Gateway:Udp:Workers). 0 (the default): one per core.</summary>
    [Range(0, 256, ErrorMessage = "Gateway:Dtls:Workers must be between 0 and 256")]
    public int Workers { get; set; }

    /// <summary>
    /// Decrypted requests waiting for a worker to start their handler (the same queue as plain UDP's, see
    /// Gateway:Udp:ReceiveQueueCapacity). Overflow policy: tail drop (the newest is dropped and counted, reason
    /// "queue_full"); CON senders retransmit (RFC 7252 §4.2), so overload sheds load instead of growing memory.
    /// </summary>
    [Range(16, 1_000_000, ErrorMessage = "Gateway:Dtls:DeliveryQueueCapacity must be between 16 and 1000000")]
    public int DeliveryQueueCapacity { get; set; } = 16_384;

    /// <summary>Kernel socket buffer sizes (SO_RCVBUF/SO_SNDBUF); 0 keeps the OS default.</summary>
    [Range(0, 256 * 1024 * 1024, ErrorMessage = "Gateway:Dtls:SocketBufferBytes must be between 0 and 268435456")]
    public int SocketBufferBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Length in bytes of the Connection ID (RFC 9146) this server asks for in the records a client sends it, offered
    /// to every client that sends the connection_id extension; clients without it are served as before. 0 turns CIDs
    /// off; otherwise 5-16: one byte of <c>Gateway:NodeId</c>, then an encrypted counter (docs/dtls-connection-id.md).
    /// Each byte costs every record the device sends; 6 (40 unpredictable bits, a trillion CIDs per start) is plenty.
    /// </summary>
    public int ConnectionIdLength { get; set; } = 6;

    /// <summary>
    /// A session that has not received an authenticated record for this long counts as asleep: its next record (like
    /// a move to a new address) makes the CoAP layer re-send at once what waits for the device (a command
    /// notification in retransmission), instead of at the next retransmission timer. RFC 7252's first retransmission
    /// comes after 2-3 s; a device silent for longer may have missed it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00", ErrorMessage = "Gateway:Dtls:WakeAfterIdle must be between 100 ms and 1 day")]
    public TimeSpan WakeAfterIdle { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Outgoing record sequence numbers reserved in the session store per write (docs/dtls-sequence-reservation.md):
    /// a session writes once per this many records it sends (asked for when half a block is left), and a gateway that
    /// takes a session over starts this far past the previous owner. Larger: fewer writes; the 48-bit space (2.8e14)
    /// is never the limit.
    /// </summary>
    [Range(64, 1 << 24, ErrorMessage = "Gateway:Dtls:SequenceBlockSize must be between 64 and 16777216")]
    public int SequenceBlockSize { get; set; } = 8192;

    /// <summary>
    /// The replay window is written to the session store after this many received records (and with every sequence
    /// block): what a gateway that takes the session over may accept a second time is bounded by it.
    /// </summary>
    [Range(64, 1 << 24, ErrorMessage = "Gateway:Dtls:ReplayCheckpointRecords must be between 64 and 16777216")]
    public int ReplayCheckpointRecords { get; set; } = 8192;

    /// <summary>
    /// Session takeovers (a record with a CID this gateway does not hold, looked up in the store) per second per source
    /// IP, and the burst. Separate from the handshake budget and higher: a takeover costs a store read and write, no
    /// public-key or PSK work, and after a gateway dies every device behind a carrier NAT arrives from the same address.
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "Gateway:Dtls:TakeoversPerSecondPerIp must be between 1 and 1000000")]
    public double TakeoversPerSecondPerIp { get; set; } = 500;

    [Range(1, 1_000_000, ErrorMessage = "Gateway:Dtls:TakeoverBurstPerIp must be between 1 and 1000000")]
    public int TakeoverBurstPerIp { get; set; } = 5000;

    /// <summary>Store lookups for unknown CIDs in flight at once; records beyond are dropped (the device retransmits).</summary>
    [Range(1, 65536, ErrorMessage = "Gateway:Dtls:MaxConcurrentTakeovers must be between 1 and 65536")]
    public int MaxConcurrentTakeovers { get; set; } = 1024;

    /// <summary>How long a CID the store did not know is not looked up again (junk and forged CIDs cost one read per this period).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Gateway:Dtls:UnknownConnectionIdCacheTime must be between 1 s and 1 h")]
    public TimeSpan UnknownConnectionIdCacheTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a completed handshake waits for the session store before our Finished goes out (the session is then
    /// findable by every gateway before the client can use it). On timeout the session is served anyway and stored
    /// again at its next checkpoint.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Gateway:Dtls:StoreTimeout must be between 100 ms and 1 min")]
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Graceful shutdown: how long the gateway waits for the store to take the replay windows of its sessions.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Gateway:Dtls:ReleaseTimeout must be between 1 s and 10 min")]
    public TimeSpan ReleaseTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var name in CipherSuites)
        {
            if (!DtlsCipherSuites.TryParse(name, out _))
            {
                yield return new ValidationResult(
                    $"Gateway:Dtls:CipherSuites: '{name}' is not supported (use {string.Join(", ", DtlsCipherSuites.DefaultOrder)})",
                    [nameof(CipherSuites)]);
            }
        }
        if (ConnectionIdLength != 0 && ConnectionIdLength is < ConnectionIdIssuer.MinLength or > ConnectionIdIssuer.MaxLength)
        {
            yield return new ValidationResult(
                $"Gateway:Dtls:ConnectionIdLength must be 0 (off) or between {ConnectionIdIssuer.MinLength} and {ConnectionIdIssuer.MaxLength} (got {ConnectionIdLength})",
                [nameof(ConnectionIdLength)]);
        }
        if (!System.Net.IPAddress.TryParse(BindAddress, out _))
        {
            yield return new ValidationResult($"Gateway:Dtls:BindAddress '{BindAddress}' is not an IP address", [nameof(BindAddress)]);
        }
        if (Certificate.Validate() is { } certificateError)
        {
            yield return new ValidationResult(certificateError, [nameof(Certificate)]);
        }
    }
}

/// <summary>
/// The certificate and ECDSA key the gateway presents to certificate and raw-public-key devices
/// (RFC 7252 §9.1.3.2-3), as PEM files. Neither set: a self-signed P-256 certificate is made at each start and its
/// fingerprint logged, which suits development; production sets both (every gateway of a cluster the same, so that
/// devices pinning it reach any of them).
/// </summary>
public sealed class DtlsCertificateOptions
{
    /// <summary>PEM file: the gateway's certificate, then any intermediates (leaf first).</summary>
    public string? Path { get; set; }

    /// <summary>PEM file: the certificate's ECDSA private key (PKCS#8 or SEC 1).</summary>
    public string? KeyPath { get; set; }

    /// <summary>The subject CN of the self-signed certificate made when none is configured.</summary>
    public string SelfSignedName { get; set; } = "nhub-gateway";

    public bool IsConfigured => !string.IsNullOrEmpty(Path);

    /// <summary>The one-line error naming the key, or null; reads the files, so that a bad one stops the host before it listens.</summary>
    internal string? Validate()
    {
        if (string.IsNullOrEmpty(Path) != string.IsNullOrEmpty(KeyPath))
        {
            return "Gateway:Dtls:Certificate:Path and Gateway:Dtls:Certificate:KeyPath must be set together";
        }
        if (!IsConfigured)
        {
            return string.IsNullOrWhiteSpace(SelfSignedName) ? "Gateway:Dtls:Certificate:SelfSignedName must not be empty" : null;
        }
        try
        {
            _ = ServerCertificate.Load(Path!, KeyPath!);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return $"Gateway:Dtls:Certificate:Path/KeyPath: {ex.Message}";
        }
    }
}
