using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// AES-128 in CCM mode (RFC 3610, NIST SP 800-38C) for DTLS records: TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655) and its
/// 16-byte-tag and ECDHE-ECDSA (RFC 7251) namesakes. On a CPU with AES instructions (x86 AES-NI) the block cipher runs
/// here, in registers; elsewhere it is .NET's <see cref="AesCcm"/>.
/// Why not always <see cref="AesCcm"/>: on Linux every call sets up a new OpenSSL cipher context and key schedule,
/// about 4 µs for a 60-byte CoAP message (bench/RESULTS.md, "DTLS record cipher"), which made AEAD the largest single
/// cost of a DTLS request; the same work here takes a fraction of a microsecond. Results are identical to
/// <see cref="AesCcm"/>'s (tested against it and against RFC 3610's packet vectors). Not thread-safe for a session, and
/// need not be: the session's lock serialises every call. Its state is the 16-byte key alone: the round keys are
/// expanded on the stack for each record (about 40 ns with AESKEYGENASSIST), so a million sessions do not carry 2 × 176
/// bytes of key schedule each (issue #15's memory budget).
/// <para>
/// Constant time: AES-NI rounds take no data-dependent time (unlike table-based AES), the tag is compared with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>, and a plaintext that fails authentication is wiped before
/// returning.
/// </para>
/// </summary>
internal sealed class CcmCipher : IDisposable
{
    private const int BlockSize = 16;

    /// <summary>True when this process runs CCM on the CPU's AES instructions (false: through <see cref="AesCcm"/>).</summary>
    public static bool IsHardwareAccelerated => X86Aes.IsSupported;

    private readonly Vector128<byte> _key;
    private readonly AesCcm? _fallback;
    private readonly int _tagSize;

    public CcmCipher(ReadOnlySpan<byte> key, int tagSize)
        : this(key, tagSize, IsHardwareAccelerated)
    {
    }

    /// <summary>With <paramref name="hardware"/> false: through <see cref="AesCcm"/> even where AES-NI is there (tests run both).</summary>
    internal CcmCipher(ReadOnlySpan<byte> key, int tagSize, bool hardware)
    {
        if (key.Length != BlockSize)
        {
            throw new ArgumentException("AES-128 keys only", nameof(key));
        }
        if (tagSize is < 4 or > 16 || tagSize % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(tagSize), tagSize, "RFC 3610 §2: M is 4, 6, 8, 10, 12, 14 or 16");
        }
        _tagSize = tagSize;
        if (hardware && IsHardwareAccelerated)
        {
            _key = Vector128.Create(key);
        }
        else
        {
            _fallback = new AesCcm(key);
        }
    }

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> into <paramref name="ciphertext"/> (same length; they may be the same
    /// memory) and writes the tag (its length is the cipher's) into <paramref name="tag"/>.
    /// </summary>
    public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        if (_fallback is not null)
        {
            _fallback.Encrypt(nonce, plaintext, ciphertext, tag[.._tagSize], associatedData);
            return;
        }
        Check(nonce, plaintext.Length, ciphertext.Length, tag.Length);
        // The MAC is over the plaintext, so it is taken before the plaintext may be overwritten (in place).
        var keys = RoundKeys.Expand(_key);
        var mac = Mac(in keys, nonce, plaintext, associatedData);
        var s0 = keys.Encrypt(CounterBlock(nonce, 0));
        Ctr(in keys, nonce, plaintext, ciphertext);
        Span<byte> u = stackalloc byte[BlockSize];
        (mac ^ s0).CopyTo(u); // RFC 3610 §2.3: U = T xor first-M-bytes(S_0)
        u[.._tagSize].CopyTo(tag);
    }

    /// <summary>
    /// Decrypts and authenticates; false (and <paramref name="plaintext"/> wiped) when the tag does not match.
    /// <paramref name="ciphertext"/> and <paramref name="plaintext"/> may be the same memory.
    /// </summary>
    public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        if (tag.Length != _tagSize)
        {
            return false;
        }
        if (_fallback is not null)
        {
            try
            {
                _fallback.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }
        Check(nonce, ciphertext.Length, plaintext.Length, tag.Length);
        var keys = RoundKeys.Expand(_key);
        var s0 = keys.Encrypt(CounterBlock(nonce, 0));
        Ctr(in keys, nonce, ciphertext, plaintext);
        Span<byte> expected = stackalloc byte[BlockSize];
        (Mac(in keys, nonce, plaintext[..ciphertext.Length], associatedData) ^ s0).CopyTo(expected);
        if (!CryptographicOperations.FixedTimeEquals(expected[.._tagSize], tag))
        {
            CryptographicOperations.ZeroMemory(plaintext[..ciphertext.Length]);
            return false;
        }
        return true;
    }

    public void Dispose() => _fallback?.Dispose();

    private void Check(ReadOnlySpan<byte> nonce, int inputLength, int outputLength, int tagLength)
    {
        // RFC 3610 §2: the nonce is 15 - L bytes, L (the length field's size) 2..8; DTLS uses 12 (L = 3).
        if (nonce.Length is < 7 or > 13)
        {
            throw new ArgumentException("CCM nonces are 7 to 13 bytes", nameof(nonce));
        }
        if (outputLength < inputLength || tagLength < _tagSize)
        {
            throw new ArgumentException("output or tag buffer too small");
        }
        var lengthBytes = 15 - nonce.Length;
        if (lengthBytes < 8 && (long)inputLength >> (8 * lengthBytes) != 0)
        {
            throw new ArgumentException("message too long for the nonce's length field", nameof(nonce));
        }
    }

    /// <summary>
    /// RFC 3610 §2.2: T = the CBC-MAC of B_0 ‖ encoded(a) ‖ a ‖ padding ‖ m ‖ padding, B_0 = flags ‖ nonce ‖ l(m),
    /// flags = 64·Adata + 8·M' + L' with M' = (M - 2) / 2 and L' = L - 1. Returns the whole last block (T is its first M bytes).
    /// </summary>
    private Vector128<byte> Mac(in RoundKeys keys, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> message, ReadOnlySpan<byte> associatedData)
    {
        var lengthBytes = 15 - nonce.Length;
        Span<byte> block = stackalloc byte[BlockSize];
        block[0] = (byte)((associatedData.IsEmpty ? 0 : 64) | ((_tagSize - 2) / 2) << 3 | (lengthBytes - 1));
        nonce.CopyTo(block[1..]);
        WriteBigEndian(block[(1 + nonce.Length)..], message.Length);
        var x = keys.Encrypt(Vector128.Create((ReadOnlySpan<byte>)block));
        if (!associatedData.IsEmpty)
        {
            // RFC 3610 §2.2: 0 < l(a) < 2^16 - 2^8 is encoded in two bytes, larger ones as 0xFFFE ‖ four bytes.
            block.Clear();
            int used;
            if (associatedData.Length < 0xFF00)
            {
                block[0] = (byte)(associatedData.Length >> 8);
                block[1] = (byte)associatedData.Length;
                used = 2;
            }
            else
            {
                block[0] = 0xFF;
                block[1] = 0xFE;
                WriteBigEndian(block.Slice(2, 4), associatedData.Length);
                used = 6;
            }
            var first = Math.Min(BlockSize - used, associatedData.Length);
            associatedData[..first].CopyTo(block[used..]);
            x = keys.Encrypt(x ^ Vector128.Create((ReadOnlySpan<byte>)block));
            x = MacBlocks(in keys, x, associatedData[first..]);
        }
        return MacBlocks(in keys, x, message);
    }

    /// <summary>CBC-MAC over <paramref name="data"/>, its last block zero-padded.</summary>
    private static Vector128<byte> MacBlocks(in RoundKeys keys, Vector128<byte> x, ReadOnlySpan<byte> data)
    {
        while (data.Length >= BlockSize)
        {
            x = keys.Encrypt(x ^ Vector128.Create(data));
            data = data[BlockSize..];
        }
        if (!data.IsEmpty)
        {
            Span<byte> last = stackalloc byte[BlockSize];
            last.Clear();
            data.CopyTo(last);
            x = keys.Encrypt(x ^ Vector128.Create((ReadOnlySpan<byte>)last));
        }
        return x;
    }

    /// <summary>RFC 3610 §2.3: output = input xor S_1 ‖ S_2 ‖ …, S_i = E(A_i), A_i = L' ‖ nonce ‖ i. Two blocks at a time.</summary>
    private static void Ctr(in RoundKeys keys, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> input, Span<byte> output)
    {
        var counter = 1;
        var length = input.Length;
        var at = 0;
        Span<byte> partial = stackalloc byte[BlockSize];
        while (at < length)
        {
            var a = CounterBlock(nonce, counter);
            var b = CounterBlock(nonce, counter + 1);
            keys.EncryptTwo(ref a, ref b);
            at = XorBlock(a, input, output, at, partial);
            if (at < length)
            {
                at = XorBlock(b, input, output, at, partial);
            }
            counter += 2;
        }
    }

    private static int XorBlock(Vector128<byte> keystream, ReadOnlySpan<byte> input, Span<byte> output, int at, Span<byte> partial)
    {
        var left = input.Length - at;
        if (left >= BlockSize)
        {
            (Vector128.Create(input.Slice(at, BlockSize)) ^ keystream).CopyTo(output.Slice(at, BlockSize));
            return at + BlockSize;
        }
        partial.Clear();
        input.Slice(at, left).CopyTo(partial);
        (Vector128.Create((ReadOnlySpan<byte>)partial) ^ keystream).CopyTo(partial);
        partial[..left].CopyTo(output.Slice(at, left));
        return input.Length;
    }

    private static Vector128<byte> CounterBlock(ReadOnlySpan<byte> nonce, int counter)
    {
        Span<byte> block = stackalloc byte[BlockSize];
        block[0] = (byte)(15 - nonce.Length - 1);
        nonce.CopyTo(block[1..]);
        WriteBigEndian(block[(1 + nonce.Length)..], counter);
        return Vector128.Create((ReadOnlySpan<byte>)block);
    }

    /// <summary>Writes <paramref name="value"/> big-endian into the whole of <paramref name="field"/> (zeros in front).</summary>
    private static void WriteBigEndian(Span<byte> field, int value)
    {
        for (var i = field.Length - 1; i >= 0; i--)
        {
            field[i] = (byte)value;
            value >>>= 8;
        }
    }

    /// <summary>The AES-128 key schedule (FIPS-197 §5.2), made with AESKEYGENASSIST, and the block encryption with AESENC.</summary>
    [InlineArray(11)]
    private struct RoundKeys
    {
        private Vector128<byte> _key;

        public static RoundKeys Expand(Vector128<byte> key)
        {
            var keys = new RoundKeys();
            keys[0] = key;
            // AESKEYGENASSIST takes the round constant as an immediate, hence one call per round (FIPS-197 §5.2 Rcon).
            keys[1] = key = Next(key, X86Aes.KeygenAssist(key, 0x01));
            keys[2] = key = Next(key, X86Aes.KeygenAssist(key, 0x02));
            keys[3] = key = Next(key, X86Aes.KeygenAssist(key, 0x04));
            keys[4] = key = Next(key, X86Aes.KeygenAssist(key, 0x08));
            keys[5] = key = Next(key, X86Aes.KeygenAssist(key, 0x10));
            keys[6] = key = Next(key, X86Aes.KeygenAssist(key, 0x20));
            keys[7] = key = Next(key, X86Aes.KeygenAssist(key, 0x40));
            keys[8] = key = Next(key, X86Aes.KeygenAssist(key, 0x80));
            keys[9] = key = Next(key, X86Aes.KeygenAssist(key, 0x1B));
            keys[10] = Next(key, X86Aes.KeygenAssist(key, 0x36));
            return keys;
        }

        /// <summary>
        /// w[i..i+3] of the next round key: each word is the previous round key's word xor the word before it, the first
        /// one xor SubWord(RotWord(w[i-1])) xor Rcon — which AESKEYGENASSIST leaves in its top 32 bits.
        /// </summary>
        private static Vector128<byte> Next(Vector128<byte> key, Vector128<byte> assist)
        {
            var t = Vector128.Shuffle(assist.AsUInt32(), Vector128.Create(3u, 3u, 3u, 3u)).AsByte();
            key ^= ShiftBytesLeft4(key);
            key ^= ShiftBytesLeft4(key);
            key ^= ShiftBytesLeft4(key);
            return key ^ t;
        }

        /// <summary>The 128-bit value shifted by 4 bytes towards the high end (PSLLDQ 4): word j becomes word j-1.</summary>
        private static Vector128<byte> ShiftBytesLeft4(Vector128<byte> v) =>
            System.Runtime.Intrinsics.X86.Sse2.ShiftLeftLogical128BitLane(v, 4);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly Vector128<byte> Encrypt(Vector128<byte> block)
        {
            block ^= this[0];
            for (var round = 1; round < 10; round++)
            {
                block = X86Aes.Encrypt(block, this[round]);
            }
            return X86Aes.EncryptLast(block, this[10]);
        }

        /// <summary>Two independent blocks, their rounds interleaved so the CPU overlaps them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void EncryptTwo(ref Vector128<byte> a, ref Vector128<byte> b)
        {
            var k = this[0];
            a ^= k;
            b ^= k;
            for (var round = 1; round < 10; round++)
            {
                k = this[round];
                a = X86Aes.Encrypt(a, k);
                b = X86Aes.Encrypt(b, k);
            }
            k = this[10];
            a = X86Aes.EncryptLast(a, k);
            b = X86Aes.EncryptLast(b, k);
        }
    }
}
