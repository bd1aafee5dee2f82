using System.Buffers.Binary;
using System.Security.Cryptography;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// Protection of one established session's epoch-1 records, built from the session's key block alone
/// (RFC 5246 §6.3), so that any gateway holding the key block can go on with the session (docs/stateless-gateway.md).
/// BouncyCastle runs the handshake; after it, records are sealed and opened here: AES-CCM with <see cref="CcmCipher"/>
/// (AES-NI), AES-GCM and AES-CBC + HMAC-SHA256 with .NET's. The gateway uses the server side; the device simulator
/// (tools/DeviceSimulator) the client side, so that a load generator's records cost what the gateway's do. Not
/// thread-safe: the session's lock serialises every call.
/// <list type="bullet">
/// <item>AEAD suites (RFC 6655 CCM_8, RFC 5288 GCM): nonce = the 4-byte implicit salt from the key block ‖ an 8-byte
/// explicit nonce that travels first in the fragment; we send epoch ‖ sequence number as the explicit part (as
/// BouncyCastle, OpenSSL and Mbed TLS do), so the nonce is unique as long as the sequence number is
/// (docs/dtls-sequence-reservation.md).</item>
/// <item>CBC (RFC 5246 §6.2.3.2) only with encrypt-then-MAC (RFC 7366): the MAC is checked before anything is decrypted,
/// so there is no padding oracle. DeviceDtlsServer never selects CBC for a client that did not offer it.</item>
/// <item>Records with a Connection ID (RFC 9146 §4, §5): content type tls12_cid, the DTLSInnerPlaintext (content ‖
/// real type ‖ zero padding), and the additional data that starts with the 8-byte 0xFF placeholder.</item>
/// </list>
/// </summary>
internal sealed class DtlsRecordCipher : IDisposable
{
    /// <summary>RFC 6347 §4.1: type(1) version(2) epoch(2) sequence_number(6) [cid] length(2).</summary>
    public const int HeaderSize = 13;

    private const int ExplicitNonceSize = 8;
    private const int SaltSize = 4;
    private const int KeySize = 16;
    private const int BlockSize = 16;
    private const int HmacSize = 32;
    /// <summary>RFC 9146 §3: a CID is at most 255 bytes (the client chooses the one we send).</summary>
    private const int MaxCidLength = 255;
    private const byte VersionMajor = 0xFE; // DTLS 1.2 = {254, 253}
    private const byte VersionMinor = 0xFD;

    private readonly CcmCipher? _ccmRead, _ccmWrite;
    private readonly AesGcm? _gcmRead, _gcmWrite;
    private readonly Aes? _cbcRead, _cbcWrite;
    private readonly byte[] _macRead = [], _macWrite = [];
    private readonly byte[] _saltRead = [], _saltWrite = [];
    private readonly int _tagSize;
    private readonly bool _cbc;

    private DtlsRecordCipher(int cipherSuite, ReadOnlySpan<byte> keyBlock, bool clientSide)
    {
        // RFC 5246 §6.3: client_write_MAC_key, server_write_MAC_key, client_write_key, server_write_key,
        // client_write_IV, server_write_IV. A server reads with the client's and writes with its own; a client the reverse.
        var (read, write) = clientSide ? (1, 0) : (0, 1);
        switch (cipherSuite)
        {
            // The ECDHE-ECDSA suites protect records exactly as their PSK namesakes do (RFC 7251 §2, RFC 5289 §3):
            // only the key exchange differs, and it is over by now.
            // TLS_PSK_WITH_AES_128_CCM (RFC 6655 §3, a 16-byte tag) is never offered by the gateway; the device
            // simulator uses it against other servers (--cipher-suites ccm).
            case CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 or CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 or CipherSuite.TLS_PSK_WITH_AES_128_CCM:
                _tagSize = cipherSuite == CipherSuite.TLS_PSK_WITH_AES_128_CCM ? 16 : 8;
                _ccmRead = new CcmCipher(keyBlock.Slice(read * KeySize, KeySize), _tagSize);
                _ccmWrite = new CcmCipher(keyBlock.Slice(write * KeySize, KeySize), _tagSize);
                break;
            case CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256 or CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
                _tagSize = 16;
                _gcmRead = new AesGcm(keyBlock.Slice(read * KeySize, KeySize), _tagSize);
                _gcmWrite = new AesGcm(keyBlock.Slice(write * KeySize, KeySize), _tagSize);
                break;
            case CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256:
                _cbc = true;
                _tagSize = HmacSize;
                _macRead = keyBlock.Slice(read * HmacSize, HmacSize).ToArray();
                _macWrite = keyBlock.Slice(write * HmacSize, HmacSize).ToArray();
                _cbcRead = Aes.Create();
                _cbcRead.Key = keyBlock.Slice(2 * HmacSize + read * KeySize, KeySize).ToArray();
                _cbcWrite = Aes.Create();
                _cbcWrite.Key = keyBlock.Slice(2 * HmacSize + write * KeySize, KeySize).ToArray();
                return; // TLS 1.2 CBC has no implicit IV
            default:
                throw new ArgumentOutOfRangeException(nameof(cipherSuite), cipherSuite, "not a suite this gateway protects records with");
        }
        _saltRead = keyBlock.Slice(2 * KeySize + read * SaltSize, SaltSize).ToArray();
        _saltWrite = keyBlock.Slice(2 * KeySize + write * SaltSize, SaltSize).ToArray();
    }

    /// <summary>The key block's length for <paramref name="cipherSuite"/> (RFC 5246 §6.3), or -1 when records of that suite are not protected here.</summary>
    public static int KeyBlockLength(int cipherSuite) => cipherSuite switch
    {
        CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 or CipherSuite.TLS_PSK_WITH_AES_128_CCM or CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256
            or CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 or CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => 2 * KeySize + 2 * SaltSize,
        CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256 => 2 * HmacSize + 2 * KeySize,
        _ => -1,
    };

    /// <summary>
    /// The server side of a session from its key block (<paramref name="clientSide"/>: the client's).
    /// <paramref name="encryptThenMac"/> must be true for CBC (RFC 7366 negotiated); AEAD suites ignore it.
    /// </summary>
    public static DtlsRecordCipher Create(int cipherSuite, bool encryptThenMac, ReadOnlySpan<byte> keyBlock, bool clientSide = false)
    {
        if (keyBlock.Length != KeyBlockLength(cipherSuite))
        {
            throw new ArgumentException($"key block of {keyBlock.Length} bytes for suite {cipherSuite}", nameof(keyBlock));
        }
        if (cipherSuite == CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256 && !encryptThenMac)
        {
            throw new ArgumentException("CBC records are protected only with encrypt-then-MAC (RFC 7366)", nameof(encryptThenMac));
        }
        return new DtlsRecordCipher(cipherSuite, keyBlock, clientSide);
    }

    /// <summary>
    /// The key block of a finished handshake (null for a suite whose records are not protected here). RFC 5246 §6.3:
    /// key_block = PRF(master_secret, "key expansion", server_random + client_random).
    /// </summary>
    public static byte[]? DeriveKeyBlock(SecurityParameters parameters)
    {
        var length = KeyBlockLength(parameters.CipherSuite);
        if (length < 0)
        {
            return null;
        }
        var seed = new byte[parameters.ServerRandom.Length + parameters.ClientRandom.Length];
        parameters.ServerRandom.CopyTo(seed, 0);
        parameters.ClientRandom.CopyTo(seed, parameters.ServerRandom.Length);
        return parameters.MasterSecret.DeriveUsingPrf(parameters.PrfAlgorithm, ExporterLabel.key_expansion, seed, length).Extract();
    }

    /// <summary>Header and protection bytes a record adds to its content, at most, with a send CID of <paramref name="sendCidLength"/> bytes.</summary>
    public int MaxOverhead(int sendCidLength)
    {
        var inner = sendCidLength > 0 ? 1 : 0;
        return HeaderSize + sendCidLength + (_cbc ? BlockSize + BlockSize + HmacSize : ExplicitNonceSize + _tagSize) + inner;
    }

    /// <summary>The record's size for <paramref name="contentLength"/> bytes of content.</summary>
    public int RecordLength(int contentLength, int sendCidLength)
    {
        var inner = contentLength + (sendCidLength > 0 ? 1 : 0);
        var fragment = _cbc ? BlockSize + (inner / BlockSize + 1) * BlockSize + HmacSize : ExplicitNonceSize + inner + _tagSize;
        return HeaderSize + sendCidLength + fragment;
    }

    /// <summary>
    /// Writes one protected record (header included) carrying <paramref name="content"/> into <paramref name="output"/>
    /// and returns its length. <paramref name="sendCid"/> is the CID the client asked to receive (RFC 9146 §3); empty: a
    /// plain record of <paramref name="contentType"/>.
    /// </summary>
    public int Seal(byte contentType, ushort epoch, long sequence, ReadOnlySpan<byte> sendCid, ReadOnlySpan<byte> content, Span<byte> output)
    {
        var useCid = !sendCid.IsEmpty;
        var recordLength = RecordLength(content.Length, sendCid.Length);
        var record = output[..recordLength];
        var headerLength = HeaderSize + sendCid.Length;
        var outerType = useCid ? DtlsRecordHeader.ConnectionId : contentType;
        WriteHeader(record, outerType, epoch, sequence, sendCid, recordLength - headerLength);
        var fragment = record[headerLength..];
        var innerLength = content.Length + (useCid ? 1 : 0);
        Span<byte> aad = stackalloc byte[23 + MaxCidLength];
        if (_cbc)
        {
            // RFC 7366 §3: IV ‖ ENC(content [‖ real type] ‖ padding) ‖ MAC(header ‖ IV ‖ ciphertext).
            var iv = fragment[..BlockSize];
            RandomNumberGenerator.Fill(iv);
            var blocks = fragment.Slice(BlockSize, fragment.Length - BlockSize - HmacSize);
            content.CopyTo(blocks);
            if (useCid)
            {
                blocks[content.Length] = contentType;
            }
            var padLength = blocks.Length - innerLength; // RFC 5246 §6.2.3.2: padLength bytes, each of value padLength - 1
            blocks[innerLength..].Fill((byte)(padLength - 1));
            _cbcWrite!.EncryptCbc(blocks, iv, blocks, PaddingMode.None);
            var macInput = fragment[..^HmacSize];
            var header = AdditionalData(aad, outerType, epoch, sequence, sendCid, macInput.Length);
            Mac(_macWrite, header, macInput, fragment[^HmacSize..]);
            return recordLength;
        }
        var explicitNonce = fragment[..ExplicitNonceSize];
        BinaryPrimitives.WriteUInt16BigEndian(explicitNonce, epoch);
        WriteUInt48(explicitNonce[2..], sequence);
        Span<byte> nonce = stackalloc byte[SaltSize + ExplicitNonceSize];
        _saltWrite.CopyTo(nonce);
        explicitNonce.CopyTo(nonce[SaltSize..]);
        var ciphertext = fragment.Slice(ExplicitNonceSize, innerLength);
        content.CopyTo(ciphertext);
        if (useCid)
        {
            ciphertext[content.Length] = contentType;
        }
        var tag = fragment.Slice(ExplicitNonceSize + innerLength, _tagSize);
        var additional = AdditionalData(aad, outerType, epoch, sequence, sendCid, innerLength);
        if (_ccmWrite is not null)
        {
            _ccmWrite.Encrypt(nonce, ciphertext, ciphertext, tag, additional);
        }
        else
        {
            _gcmWrite!.Encrypt(nonce, ciphertext, ciphertext, tag, additional);
        }
        return recordLength;
    }

    /// <summary>
    /// Authenticates and decrypts one epoch-1 record's <paramref name="fragment"/> into <paramref name="plaintext"/>.
    /// <paramref name="receiveCid"/> is the CID the record carried (empty for a record without one). False when the
    /// record does not authenticate or is malformed: RFC 6347 §4.1.2.7 and RFC 9146 §6, the record is dropped silently.
    /// </summary>
    public bool TryOpen(byte outerType, ushort epoch, long sequence, ReadOnlySpan<byte> receiveCid, ReadOnlySpan<byte> fragment, Span<byte> plaintext, out int length, out byte contentType)
    {
        length = 0;
        contentType = outerType;
        Span<byte> aad = stackalloc byte[23 + MaxCidLength];
        int innerLength;
        if (_cbc)
        {
            if (fragment.Length < BlockSize + BlockSize + HmacSize || (fragment.Length - BlockSize - HmacSize) % BlockSize != 0)
            {
                return false;
            }
            var macInput = fragment[..^HmacSize];
            var header = AdditionalData(aad, outerType, epoch, sequence, receiveCid, macInput.Length);
            Span<byte> expected = stackalloc byte[HmacSize];
            Mac(_macRead, header, macInput, expected);
            if (!CryptographicOperations.FixedTimeEquals(expected, fragment[^HmacSize..]))
            {
                return false; // RFC 7366 §3: checked before any decryption
            }
            var blocks = macInput[BlockSize..];
            if (blocks.Length > plaintext.Length)
            {
                return false;
            }
            var output = plaintext[..blocks.Length];
            _cbcRead!.DecryptCbc(blocks, macInput[..BlockSize], output, PaddingMode.None);
            var padLength = output[^1] + 1;
            if (padLength > output.Length)
            {
                return false;
            }
            foreach (var b in output[^padLength..])
            {
                if (b != padLength - 1)
                {
                    return false;
                }
            }
            innerLength = output.Length - padLength;
        }
        else
        {
            innerLength = fragment.Length - ExplicitNonceSize - _tagSize;
            if (innerLength < 0 || innerLength > plaintext.Length)
            {
                return false;
            }
            Span<byte> nonce = stackalloc byte[SaltSize + ExplicitNonceSize];
            _saltRead.CopyTo(nonce);
            fragment[..ExplicitNonceSize].CopyTo(nonce[SaltSize..]);
            var additional = AdditionalData(aad, outerType, epoch, sequence, receiveCid, innerLength);
            if (_ccmRead is not null)
            {
                if (!_ccmRead.TryDecrypt(nonce, fragment.Slice(ExplicitNonceSize, innerLength), fragment[^_tagSize..], plaintext[..innerLength], additional))
                {
                    return false;
                }
            }
            else
            {
                try
                {
                    _gcmRead!.Decrypt(nonce, fragment.Slice(ExplicitNonceSize, innerLength), fragment[^_tagSize..], plaintext[..innerLength], additional);
                }
                catch (AuthenticationTagMismatchException)
                {
                    return false;
                }
            }
        }
        if (outerType == DtlsRecordHeader.ConnectionId)
        {
            // RFC 9146 §4: DTLSInnerPlaintext = content ‖ real_type ‖ zeros; the last non-zero byte is the type.
            var end = innerLength;
            while (end > 0 && plaintext[end - 1] == 0)
            {
                end--;
            }
            if (end == 0)
            {
                return false;
            }
            contentType = plaintext[end - 1];
            length = end - 1;
            return true;
        }
        length = innerLength;
        return true;
    }

    public void Dispose()
    {
        _ccmRead?.Dispose();
        _ccmWrite?.Dispose();
        _gcmRead?.Dispose();
        _gcmWrite?.Dispose();
        _cbcRead?.Dispose();
        _cbcWrite?.Dispose();
    }

    private static void WriteHeader(Span<byte> record, byte type, ushort epoch, long sequence, ReadOnlySpan<byte> cid, int fragmentLength)
    {
        record[0] = type;
        record[1] = VersionMajor;
        record[2] = VersionMinor;
        BinaryPrimitives.WriteUInt16BigEndian(record[3..], epoch);
        WriteUInt48(record[5..], sequence);
        cid.CopyTo(record[11..]);
        BinaryPrimitives.WriteUInt16BigEndian(record[(11 + cid.Length)..], (ushort)fragmentLength);
    }

    /// <summary>
    /// The AEAD additional data, or the MAC's header for CBC: RFC 5246 §6.2.3.3 / RFC 7366 §3 without a CID
    /// (seq_num ‖ type ‖ version ‖ length, where seq_num = epoch ‖ sequence_number, RFC 6347 §4.1.2.1), and RFC 9146 §5
    /// with one (seq_num_placeholder ‖ tls12_cid ‖ cid_length ‖ tls12_cid ‖ version ‖ epoch ‖ sequence_number ‖ cid ‖
    /// length).
    /// </summary>
    private static ReadOnlySpan<byte> AdditionalData(Span<byte> buffer, byte outerType, ushort epoch, long sequence, ReadOnlySpan<byte> cid, int length)
    {
        if (cid.IsEmpty)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer, epoch);
            WriteUInt48(buffer[2..], sequence);
            buffer[8] = outerType;
            buffer[9] = VersionMajor;
            buffer[10] = VersionMinor;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[11..], (ushort)length);
            return buffer[..13];
        }
        buffer[..8].Fill(0xFF);
        buffer[8] = DtlsRecordHeader.ConnectionId;
        buffer[9] = (byte)cid.Length;
        buffer[10] = DtlsRecordHeader.ConnectionId;
        buffer[11] = VersionMajor;
        buffer[12] = VersionMinor;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[13..], epoch);
        WriteUInt48(buffer[15..], sequence);
        cid.CopyTo(buffer[21..]);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(21 + cid.Length)..], (ushort)length);
        return buffer[..(23 + cid.Length)];
    }

    private static void Mac(byte[] key, ReadOnlySpan<byte> header, ReadOnlySpan<byte> message, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(header);
        hmac.AppendData(message);
        hmac.GetHashAndReset(destination);
    }

    private static void WriteUInt48(Span<byte> destination, long value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)value);
    }
}
