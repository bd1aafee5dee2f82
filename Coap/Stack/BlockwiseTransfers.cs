namespace NHub.Coap.Stack;

/// <summary>The outcome of one Block1 block (RFC 7959 §2.3, §2.5).</summary>
internal enum Block1Status
{
    /// <summary>Not the last block: answer 2.31 Continue echoing Block1 (M=1).</summary>
    Continue,

    /// <summary>The last block arrived: the body is complete; the final response echoes Block1 (M=0).</summary>
    Complete,

    /// <summary>Out of order, or no transfer started: 4.08 Request Entity Incomplete.</summary>
    Incomplete,

    /// <summary>Declared (Size1) or accumulated size over the maximum: 4.13 with Size1 = the maximum.</summary>
    TooLarge,

    /// <summary>Too many transfers in progress (globally or for this peer): 5.03 Service Unavailable.</summary>
    Busy,
}

internal readonly record struct Block1Result(Block1Status Status, BlockOption Echo, ReadOnlyMemory<byte> Body);

/// <summary>
/// Server side of block-wise transfers (RFC 7959): Block1 reassembly keyed by peer and request URI (§2.5: the
/// token may change between blocks) and Block2 slicing of a full representation at the size the client asks for.
/// Transfers time out, and their number is capped globally and per peer.
/// </summary>
internal sealed class BlockwiseTransfers<TPeer>(CoapServerOptions options, TimeProvider time)
    where TPeer : notnull
{
    private sealed class Transfer
    {
        public byte[] Buffer = [];
        public int Length;
        public long LastActivity;
    }

    private readonly Dictionary<(TPeer Peer, string Uri), Transfer> _transfers = new();
    private readonly Dictionary<TPeer, int> _perPeer = new();
    private readonly Lock _gate = new();
    private long _lastSweep;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _transfers.Count;
            }
        }
    }

    /// <summary>
    /// Adds one Block1 block of the request to <paramref name="uri"/> (path and query). <paramref name="size1"/> is the
    /// client's declared total, if any. The returned <see cref="Block1Result.Echo"/> is the Block1 option to answer with
    /// (§2.3: the server may lower SZX to its maximum — early negotiation).
    /// </summary>
    public Block1Result AddBlock1(TPeer peer, string uri, BlockOption block, uint? size1, ReadOnlySpan<byte> payload)
    {
        var now = time.GetTimestamp();
        var echoSzx = Math.Min(block.SizeExponent, BlockOption.ExponentFor(options.MaxBlockSize));
        lock (_gate)
        {
            Sweep(now);
            var key = (peer, uri);
            _transfers.TryGetValue(key, out var transfer);
            if (block.Number == 0)
            {
                if (transfer is not null)
                {
                    Remove(key);
                    transfer = null;
                }
                if (size1 is { } declared && declared > options.MaxBodySize)
                {
                    return new Block1Result(Block1Status.TooLarge, block, default);
                }
                if (!block.More)
                {
                    // A single-block "transfer": nothing to keep.
                    return payload.Length > options.MaxBodySize
                        ? new Block1Result(Block1Status.TooLarge, block, default)
                        : new Block1Result(Block1Status.Complete, block with { SizeExponent = echoSzx }, payload.ToArray());
                }
                if (_transfers.Count >= options.MaxBlockTransfers || _perPeer.GetValueOrDefault(peer) >= options.MaxBlockTransfersPerPeer)
                {
                    return new Block1Result(Block1Status.Busy, block, default);
                }
                transfer = new Transfer { Buffer = new byte[Math.Min(options.MaxBodySize, (int)Math.Max(size1 ?? 0, (uint)block.Size * 4))] };
                _transfers[key] = transfer;
                _perPeer[peer] = _perPeer.GetValueOrDefault(peer) + 1;
            }
            else if (transfer is null || block.Offset != transfer.Length)
            {
                // §2.5: a block that does not continue the body we hold (missing start, gap, duplicate already
                // answered by dedup) cannot be assembled.
                if (transfer is not null)
                {
                    Remove(key);
                }
                return new Block1Result(Block1Status.Incomplete, block, default);
            }
            // §2.2: all blocks but the last carry exactly the block size.
            if (block.More && payload.Length != block.Size)
            {
                Remove(key);
                return new Block1Result(Block1Status.Incomplete, block, default);
            }
            if ((long)transfer.Length + payload.Length > options.MaxBodySize)
            {
                Remove(key);
                return new Block1Result(Block1Status.TooLarge, block, default);
            }
            if (transfer.Length + payload.Length > transfer.Buffer.Length)
            {
                Array.Resize(ref transfer.Buffer, Math.Min(options.MaxBodySize, Math.Max(transfer.Buffer.Length * 2, transfer.Length + payload.Length)));
            }
            payload.CopyTo(transfer.Buffer.AsSpan(transfer.Length));
            transfer.Length += payload.Length;
            transfer.LastActivity = now;
            if (block.More)
            {
                return new Block1Result(Block1Status.Continue, block with { SizeExponent = echoSzx }, default);
            }
            Remove(key);
            return new Block1Result(Block1Status.Complete, block with { SizeExponent = echoSzx }, transfer.Buffer.AsMemory(0, transfer.Length));
        }
    }

    /// <summary>Drops every transfer of a peer (its session ended).</summary>
    public void RemovePeer(TPeer peer)
    {
        lock (_gate)
        {
            if (!_perPeer.ContainsKey(peer))
            {
                return;
            }
            var keys = new List<(TPeer, string)>();
            foreach (var key in _transfers.Keys)
            {
                if (EqualityComparer<TPeer>.Default.Equals(key.Peer, peer))
                {
                    keys.Add(key);
                }
            }
            foreach (var key in keys)
            {
                Remove(key);
            }
        }
    }

    /// <summary>
    /// The Block2 block of <paramref name="representation"/> to send for a request carrying <paramref name="requested"/>
    /// (null: no Block2 option). Returns false when the request asks for a block past the end (answer 4.02, §2.2).
    /// Sizes: the smaller of the client's and <see cref="CoapServerOptions.MaxBlockSize"/>; when the server lowers the
    /// size, NUM is recomputed from the byte offset the client asked for (§2.4 early negotiation).
    /// </summary>
    public bool TrySliceBlock2(ReadOnlyMemory<byte> representation, BlockOption? requested, out BlockOption block, out ReadOnlyMemory<byte> slice)
    {
        if (!Block2Plan.TryPlan(representation.Length, requested, options, out block, out var offset, out var length))
        {
            slice = default;
            return false;
        }
        slice = representation.Slice(offset, length);
        return true;
    }

    /// <summary>True when a response of this size must go block-wise although the client did not ask (§2.4).</summary>
    public bool NeedsBlock2(int representationLength) => representationLength > options.PreferredBlockSize;

    private void Remove((TPeer Peer, string Uri) key)
    {
        if (_transfers.Remove(key))
        {
            var left = _perPeer.GetValueOrDefault(key.Peer) - 1;
            if (left <= 0)
            {
                _perPeer.Remove(key.Peer);
            }
            else
            {
                _perPeer[key.Peer] = left;
            }
        }
    }

    private void Sweep(long now)
    {
        var timeout = (long)(options.BlockTransferTimeout.TotalSeconds * time.TimestampFrequency);
        if (now - _lastSweep < timeout / 4 && _transfers.Count < options.MaxBlockTransfers)
        {
            return;
        }
        _lastSweep = now;
        List<(TPeer, string)>? stale = null;
        foreach (var (key, t) in _transfers)
        {
            if (now - t.LastActivity >= timeout)
            {
                (stale ??= []).Add(key);
            }
        }
        foreach (var key in stale ?? [])
        {
            Remove(key);
        }
    }
}
