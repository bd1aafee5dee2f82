using System.Buffers;

namespace NHub.Coap.Stack;

/// <summary>
/// Client side of a Block2 download (RFC 7959 §2.4), used by the device simulator's firmware scenario: collects the
/// blocks of one representation, asks for the next at the size the server chose, and notices a representation that
/// changed between blocks (a different ETag, §2.4) so the caller can start again. Bounded by <c>maxBodySize</c>.
/// </summary>
public sealed class Block2Download
{
    private readonly int _maxBodySize;
    private readonly ArrayBufferWriter<byte> _body = new();
    private byte[]? _etag;

    public Block2Download(int maxBodySize = 1024 * 1024) => _maxBodySize = maxBodySize;

    public ReadOnlyMemory<byte> Body => _body.WrittenMemory;

    /// <summary>Size2 of the first block, when the server sent it (§4).</summary>
    public uint? TotalSize { get; private set; }

    /// <summary>
    /// Adds one 2.05 response. Returns the Block2 option to request next, or null when the body is complete.
    /// Throws <see cref="InvalidDataException"/> for a block out of order, a changed ETag or a body over the maximum.
    /// </summary>
    public BlockOption? Add(CoapMessage response)
    {
        var block = response.Block2;
        if (block is null)
        {
            // Not block-wise at all: the payload is the whole representation.
            Append(response.Payload.Span);
            return null;
        }
        var b = block.Value;
        if (b.Offset != _body.WrittenCount)
        {
            throw new InvalidDataException($"Block2 {b.Number} at offset {b.Offset} does not continue the {_body.WrittenCount} bytes held");
        }
        var etag = response.ETag;
        if (b.Number == 0)
        {
            _etag = etag.IsEmpty ? null : etag.ToArray();
            TotalSize = response.Size2;
        }
        else if (!etag.Span.SequenceEqual(_etag))
        {
            throw new InvalidDataException("The representation changed between blocks (ETag differs)");
        }
        Append(response.Payload.Span);
        if (!b.More)
        {
            return null;
        }
        var size = b.Size;
        return new BlockOption((uint)(_body.WrittenCount / size), false, b.SizeExponent);
    }

    private void Append(ReadOnlySpan<byte> payload)
    {
        if (_body.WrittenCount + payload.Length > _maxBodySize)
        {
            throw new InvalidDataException($"The representation exceeds {_maxBodySize} bytes");
        }
        _body.Write(payload);
    }
}
