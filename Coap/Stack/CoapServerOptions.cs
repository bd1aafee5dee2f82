using System.ComponentModel.DataAnnotations;

namespace NHub.Coap.Stack;

/// <summary>CoAP message-layer settings with the RFC defaults (RFC 7252 §4.8, RFC 7959, RFC 7641). Section <c>Gateway:Coap</c>.</summary>
public sealed class CoapServerOptions
{
    public const string Section = "Gateway:Coap";

    /// <summary>ACK_TIMEOUT (§4.8): 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "Gateway:Coap:AckTimeout must be between 10 ms and 1 min")]
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>ACK_RANDOM_FACTOR (§4.8): 1.5.</summary>
    [Range(1.0, 4.0, ErrorMessage = "Gateway:Coap:AckRandomFactor must be between 1 and 4")]
    public double AckRandomFactor { get; set; } = 1.5;

    /// <summary>MAX_RETRANSMIT (§4.8): 4.</summary>
    [Range(0, 20, ErrorMessage = "Gateway:Coap:MaxRetransmit must be between 0 and 20")]
    public int MaxRetransmit { get; set; } = 4;

    /// <summary>NSTART (§4.7): 1 — confirmable messages this server has outstanding to one peer; more wait their turn.</summary>
    [Range(1, 16, ErrorMessage = "Gateway:Coap:NStart must be between 1 and 16")]
    public int NStart { get; set; } = 1;

    /// <summary>Confirmable messages waiting for NSTART per peer; beyond it sending is refused (the caller sees Cancelled).</summary>
    [Range(0, 1000, ErrorMessage = "Gateway:Coap:MaxQueuedConfirmablesPerPeer must be between 0 and 1000")]
    public int MaxQueuedConfirmablesPerPeer { get; set; } = 16;

    /// <summary>EXCHANGE_LIFETIME (§4.8.2): 247 s — how long a CON's response is kept for duplicates.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Gateway:Coap:ExchangeLifetime must be between 1 s and 1 h")]
    public TimeSpan ExchangeLifetime { get; set; } = TimeSpan.FromSeconds(247);

    /// <summary>NON_LIFETIME (§4.8.2): 145 s — how long a NON's message id is remembered.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Gateway:Coap:NonLifetime must be between 1 s and 1 h")]
    public TimeSpan NonLifetime { get; set; } = TimeSpan.FromSeconds(145);

    /// <summary>Remembered (peer, message id) pairs in total; the oldest are forgotten first beyond it.</summary>
    [Range(64, 50_000_000, ErrorMessage = "Gateway:Coap:MaxDedupEntries must be between 64 and 50000000")]
    public int MaxDedupEntries { get; set; } = 1_000_000;

    /// <summary>Remembered message ids per peer; a peer beyond it has its oldest forgotten (bounded per-peer state).</summary>
    [Range(1, 100_000, ErrorMessage = "Gateway:Coap:MaxDedupEntriesPerPeer must be between 1 and 100000")]
    public int MaxDedupEntriesPerPeer { get; set; } = 256;

    /// <summary>A CON request whose handler takes longer gets an empty ACK now and a separate CON response later (§5.2.2).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", ErrorMessage = "Gateway:Coap:SeparateResponseAfter must be between 0 and 30 s")]
    public TimeSpan SeparateResponseAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest reassembled Block1 body (RFC 7959 §2.9.3: larger → 4.13 with Size1).</summary>
    [Range(16, 64 * 1024 * 1024, ErrorMessage = "Gateway:Coap:MaxBodySize must be between 16 B and 64 MiB")]
    public int MaxBodySize { get; set; } = 64 * 1024;

    /// <summary>
    /// Requests of one client processed at the same time (RFC 7252 §4.7: NSTART is 1 for a well-behaved client);
    /// beyond it a request is answered 4.29 Too Many Requests (RFC 8516) with <see cref="TooManyRequestsMaxAge"/>.
    /// The client is the peer, unless the host counts wider: the gateway counts an authenticated DTLS device's
    /// sessions together (one device opening more sessions gets no more work queued behind its twin).
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "Gateway:Coap:MaxRequestsInProgressPerPeer must be between 1 and 100000")]
    public int MaxRequestsInProgressPerPeer { get; set; } = 8;

    /// <summary>
    /// Requests with an asynchronous handler processed at the same time, all clients together; more wait, first come
    /// first served (<see cref="MaxRequestsWaiting"/>). Sized for throughput × backend latency (the default covers
    /// 25,000 requests/s at 20 ms); bounded so that a saturated server keeps few requests' state alive at once
    /// (RequestAdmission.cs says why that matters for the garbage collector).
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "Gateway:Coap:MaxRequestsInProgress must be between 1 and 1000000")]
    public int MaxRequestsInProgress { get; set; } = 512;

    /// <summary>
    /// Requests waiting for one of <see cref="MaxRequestsInProgress"/>; beyond it a request is answered 5.03 Service
    /// Unavailable with Max-Age <see cref="TooManyRequestsMaxAge"/> (RFC 7252 §5.9.3.4).
    /// </summary>
    [Range(0, 10_000_000, ErrorMessage = "Gateway:Coap:MaxRequestsWaiting must be between 0 and 10000000")]
    public int MaxRequestsWaiting { get; set; } = 20_000;

    /// <summary>Max-Age of a 4.29 answer (RFC 8516 §3), and of a 5.03 for a full waiting line: seconds the peer should wait before trying again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Gateway:Coap:TooManyRequestsMaxAge must be between 1 s and 1 h")]
    public TimeSpan TooManyRequestsMaxAge { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Block-wise transfers in progress, in total and per peer.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Gateway:Coap:MaxBlockTransfers must be between 1 and 10000000")]
    public int MaxBlockTransfers { get; set; } = 100_000;

    [Range(1, 1000, ErrorMessage = "Gateway:Coap:MaxBlockTransfersPerPeer must be between 1 and 1000")]
    public int MaxBlockTransfersPerPeer { get; set; } = 4;

    /// <summary>A block-wise transfer with no block for this long is dropped (RFC 7959 §2.4 leaves it to the server).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Gateway:Coap:BlockTransferTimeout must be between 1 s and 1 h")]
    public TimeSpan BlockTransferTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Largest block this server sends or asks for (RFC 7959 §2.2: 16–1024). Early negotiation may lower it.</summary>
    [Range(16, 1024, ErrorMessage = "Gateway:Coap:MaxBlockSize must be between 16 and 1024")]
    public int MaxBlockSize { get; set; } = 1024;

    /// <summary>A response payload above this size is sent block-wise even when the client did not ask (RFC 7959 §2.4).</summary>
    [Range(16, 1024, ErrorMessage = "Gateway:Coap:PreferredBlockSize must be between 16 and 1024")]
    public int PreferredBlockSize { get; set; } = 512;

    /// <summary>Observe relations in total and per peer.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Gateway:Coap:MaxObserveRelations must be between 1 and 10000000")]
    public int MaxObserveRelations { get; set; } = 1_000_000;

    [Range(1, 1000, ErrorMessage = "Gateway:Coap:MaxObserveRelationsPerPeer must be between 1 and 1000")]
    public int MaxObserveRelationsPerPeer { get; set; } = 8;

    /// <summary>RFC 7641 §4.5: at least one notification in this many is confirmable (non-confirmable ones otherwise).</summary>
    [Range(1, 1000, ErrorMessage = "Gateway:Coap:ConfirmableNotificationEvery must be between 1 and 1000")]
    public int ConfirmableNotificationEvery { get; set; } = 20;

    /// <summary>RFC 7641 §4.5: a notification is confirmable if the last confirmable one is older than this (24 h).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00", ErrorMessage = "Gateway:Coap:ConfirmableNotificationInterval must be between 1 s and 7 days")]
    public TimeSpan ConfirmableNotificationInterval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Outstanding confirmable messages this server sends (notifications, separate responses), in total.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Gateway:Coap:MaxOutstandingConfirmables must be between 1 and 10000000")]
    public int MaxOutstandingConfirmables { get; set; } = 1_000_000;

    /// <summary>MAX_TRANSMIT_WAIT-style bound on one confirmable exchange: the sum of all backoff intervals.</summary>
    public TimeSpan MaxTransmitSpan => TimeSpan.FromTicks((long)(AckTimeout.Ticks * ((1 << MaxRetransmit) * 2 - 1) * AckRandomFactor));
}
