using System.ComponentModel.DataAnnotations;

namespace NHub.Gateway.Transport.Udp;

/// <summary>Plain UDP transport settings (section <c>Gateway:Udp</c>).</summary>
public sealed class UdpTransportOptions
{
    public const string Section = "Gateway:Udp";

    /// <summary>Bind address. <c>::</c> binds one dual-mode socket serving IPv4 and IPv6.</summary>
    [Required(ErrorMessage = "Gateway:Udp:BindAddress must be set")]
    public string BindAddress { get; set; } = "::";

    /// <summary>RFC 7252 §6.1: the default port of coap:// is 5683.</summary>
    [Range(0, 65535, ErrorMessage = "Gateway:Udp:Port must be between 0 and 65535")]
    public int Port { get; set; } = 5683;

    /// <summary>
    /// Largest datagram accepted. RFC 7252 §4.6 keeps CoAP messages within one IP packet (1152 bytes of
    /// message recommended); larger datagrams are dropped and counted (reason "oversize").
    /// </summary>
    [Range(64, 65507, ErrorMessage = "Gateway:Udp:MaxDatagramSize must be between 64 and 65507")]
    public int MaxDatagramSize { get; set; } = 2048;

    /// <summary>
    /// Datagrams waiting for a worker. Overflow policy: tail drop (the newest datagram is dropped and counted,
    /// reason "queue_full"); CON senders retransmit (RFC 7252 §4.2), so overload sheds load instead of growing memory.
    /// </summary>
    [Range(16, 1_000_000, ErrorMessage = "Gateway:Udp:ReceiveQueueCapacity must be between 16 and 1000000")]
    public int ReceiveQueueCapacity { get; set; } = 16_384;

    /// <summary>
    /// Threads blocking in the socket's receive, each answering what completes synchronously (e.g. discovery) on the
    /// spot and queueing the rest for the workers. 0: one per core, at most 4.
    /// </summary>
    [Range(0, 64, ErrorMessage = "Gateway:Udp:ReceiveLoops must be between 0 and 64")]
    public int ReceiveLoops { get; set; }

    /// <summary>Workers that hand queued datagrams to the CoAP stack. 0: one per core.</summary>
    [Range(0, 256, ErrorMessage = "Gateway:Udp:Workers must be between 0 and 256")]
    public int Workers { get; set; }

    /// <summary>Kernel socket buffer sizes (SO_RCVBUF/SO_SNDBUF); 0 keeps the OS default.</summary>
    [Range(0, 256 * 1024 * 1024, ErrorMessage = "Gateway:Udp:SocketBufferBytes must be between 0 and 268435456")]
    public int SocketBufferBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Distinct peer addresses remembered for allocation-free sends; the table is reset when full.</summary>
    [Range(16, 10_000_000, ErrorMessage = "Gateway:Udp:MaxPeers must be between 16 and 10000000")]
    public int MaxPeers { get; set; } = 200_000;
}
