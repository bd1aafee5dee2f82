using System.Buffers.Binary;
using System.Security.Cryptography;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Issues this gateway's DTLS 1.2 Connection IDs (RFC 9146 §3): the CID the server asks its clients to put in every
/// record they send it, so that a record finds its session whatever its source address. The layout (see
/// docs/dtls-connection-id.md) is
/// <code>
///   byte 0        : Gateway:NodeId (0-255), in clear: a load balancer routes a record to its gateway by it
///   bytes 1..L-1  : E_k(counter), a keyed permutation of a per-gateway counter over exactly 8(L-1) bits
/// </code>
/// Unique by construction, not by luck: the counter never repeats within the process and E_k is a bijection, so two
/// sessions of one gateway never get the same CID (no check against the live table, no retry). Unpredictable: the key
/// is 128 random bits drawn at start and never leaves the process, so knowing any number of issued CIDs tells nothing
/// about the next or about another device's. E_k is a balanced Feistel network (Luby-Rackoff) whose round function is
/// AES-128 under the key; 8 rounds, more than the 4 a strong pseudo-random permutation needs.
/// </summary>
public sealed class ConnectionIdIssuer : IDisposable
{
    /// <summary>Feistel rounds: Luby-Rackoff needs 4 for a strong PRP; 8 leave a margin at no measurable cost (one AES block each).</summary>
    private const int Rounds = 8;

    private readonly Aes? _aes;
    private readonly int _halfBits;
    private readonly ulong _halfMask;
    private readonly ulong _capacity; // counter values available: 2^(8(L-1)), saturated at ulong.MaxValue
    private readonly Lock _gate = new();
    private ulong _counter;

    /// <param name="length">CID length in bytes: 0 (no CIDs) or <see cref="MinLength"/>..<see cref="MaxLength"/>.</param>
    /// <param name="nodeId">This gateway's node id (0-255), the CID's first byte.</param>
    /// <param name="key">16 bytes for the permutation; null draws them from the OS random generator (tests pass their own).</param>
    public ConnectionIdIssuer(int length, int nodeId, byte[]? key = null)
    {
        if (length != 0 && length is < MinLength or > MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a connection id is 0 (off) or {MinLength}-{MaxLength} bytes");
        }
        if (nodeId is < 0 or > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(nodeId), nodeId, "the node id is one byte (0-255)");
        }
        Length = length;
        NodeId = nodeId;
        if (length == 0)
        {
            return;
        }
        var bits = 8 * (length - 1);
        _halfBits = bits / 2;
        _halfMask = (1UL << _halfBits) - 1;
        _capacity = bits >= 64 ? ulong.MaxValue : 1UL << bits;
        _aes = Aes.Create();
        _aes.Key = key ?? RandomNumberGenerator.GetBytes(16);
    }

    /// <summary>Shortest CID when on: the node byte plus 32 permuted bits (4 billion CIDs per gateway start, 1 in 2^32 to guess one).</summary>
    public const int MinLength = 5;

    /// <summary>Longest CID: the node byte plus 120 permuted bits (two 60-bit Feistel halves).</summary>
    public const int MaxLength = 16;

    /// <summary>CID length in bytes; 0 when CIDs are off.</summary>
    public int Length { get; }

    public int NodeId { get; }

    /// <summary>CIDs issued since start.</summary>
    public long Issued => (long)Math.Min(Volatile.Read(ref _counter), long.MaxValue);

    /// <summary>
    /// The next CID, or null when CIDs are off or (after 2^(8(L-1)) of them, at 5 bytes 4.3 billion) this start's
    /// supply is used up: the session then runs without a CID rather than ever reusing one.
    /// </summary>
    public byte[]? Next()
    {
        if (_aes is null)
        {
            return null;
        }
        lock (_gate)
        {
            if (_counter >= _capacity)
            {
                return null;
            }
            var value = _counter++;
            var cid = new byte[Length];
            cid[0] = (byte)NodeId;
            // Under the lock: one Aes instance is not safe for concurrent use (handshake threads issue in parallel).
            WritePermuted(Permute(value), cid.AsSpan(1));
            return cid;
        }
    }

    /// <summary>The node id a CID routes to (its first byte): what a load balancer in front of several gateways reads at record offset 11.</summary>
    public static int NodeIdOf(ReadOnlySpan<byte> connectionId) => connectionId[0];

    public void Dispose() => _aes?.Dispose();

    /// <summary>The Feistel permutation of <paramref name="value"/> as (left, right) halves of <c>_halfBits</c> each.</summary>
    private (ulong Left, ulong Right) Permute(ulong value)
    {
        // h <= 60, and the counter is below 2^min(64, 2h): its two halves split it without loss.
        var left = (value >> _halfBits) & _halfMask;
        var right = value & _halfMask;
        Span<byte> block = stackalloc byte[16];
        Span<byte> output = stackalloc byte[16];
        for (var round = 0; round < Rounds; round++)
        {
            // F_k(round, right): one AES block over (round, right); the round number separates the round functions.
            block.Clear();
            block[0] = (byte)round;
            BinaryPrimitives.WriteUInt64BigEndian(block[8..], right);
            _aes!.EncryptEcb(block, output, PaddingMode.None);
            var f = BinaryPrimitives.ReadUInt64BigEndian(output) & _halfMask;
            (left, right) = (right, left ^ f);
        }
        return (left, right);
    }

    /// <summary>Writes the two halves big-endian into exactly 2h bits = <paramref name="destination"/>'s bytes.</summary>
    private void WritePermuted((ulong Left, ulong Right) halves, Span<byte> destination)
    {
        // 2h bits as a big-endian integer: left in the high h bits. h is a multiple of 4, so the split may fall mid-byte.
        var totalBits = 2 * _halfBits;
        for (var i = 0; i < destination.Length; i++)
        {
            var bitOffset = totalBits - (8 * (i + 1)); // position of this byte's lowest bit in the 2h-bit number
            destination[i] = (byte)(BitsAt(halves, bitOffset) & 0xFF);
        }
    }

    /// <summary>Eight bits of the 2h-bit number (left:right) starting at <paramref name="offset"/>.</summary>
    private ulong BitsAt((ulong Left, ulong Right) halves, int offset)
    {
        ulong result = 0;
        for (var bit = 0; bit < 8; bit++)
        {
            var position = offset + bit;
            var set = position < _halfBits
                ? (halves.Right >> position) & 1
                : (halves.Left >> (position - _halfBits)) & 1;
            result |= set << bit;
        }
        return result;
    }
}
