namespace NHub.Coap.Stack;

/// <summary>A request as a handler sees it: reassembled body, route values, the peer, and whether it registers an observation.</summary>
public sealed class CoapRequestContext<TPeer>
    where TPeer : notnull
{
    public required TPeer Peer { get; init; }
    public required CoapMessage Request { get; init; }

    /// <summary>The full request body (after Block1 reassembly).</summary>
    public required ReadOnlyMemory<byte> Body { get; init; }

    public required IReadOnlyDictionary<string, string> RouteValues { get; init; }

    /// <summary>GET with Observe: 0 — answering with <see cref="CoapResponse.Observe"/> set creates the relation.</summary>
    public bool IsObserveRegistration { get; init; }

    /// <summary>
    /// An id for this exchange, the same for every retransmission of the request and different for any other
    /// message: "{peer's session}/{message id}/{token}/{fingerprint}", set by the server (docs/deduplication.md).
    /// The fingerprint (<see cref="MessageFingerprint"/> of the request's last datagram) tells a device that reused
    /// a message id and token with other content from a retransmission. Built on first use (most handlers never read it).
    /// </summary>
    public string ExchangeId
    {
        get => _exchangeId ??= DescribePeer is { } describe
            ? $"{describe(Peer)}/{Request.MessageId}/{Convert.ToHexString(Request.Token.Span)}/{Fingerprint:x16}"
            : throw new InvalidOperationException("ExchangeId was not set");
        init => _exchangeId = value;
    }

    /// <summary>How the server names the peer's session in <see cref="ExchangeId"/> (when it is built lazily).</summary>
    internal Func<TPeer, string>? DescribePeer { get; init; }

    /// <summary><see cref="MessageFingerprint"/> of the request datagram (the last block's, for a Block1 transfer).</summary>
    internal ulong Fingerprint { get; init; }

    /// <summary>The request's number under a reliable transport (from 1); 0 otherwise.</summary>
    internal long Sequence { get; init; }

    private string? _exchangeId;

    public CancellationToken Aborted { get; init; }
}

public delegate ValueTask<CoapResponse> CoapHandler<TPeer>(CoapRequestContext<TPeer> context)
    where TPeer : notnull;

/// <summary>A handler that answers synchronously (see <see cref="CoapRouter{TPeer}.MapInline"/>).</summary>
public delegate CoapResponse CoapInlineHandler<TPeer>(CoapRequestContext<TPeer> context)
    where TPeer : notnull;
