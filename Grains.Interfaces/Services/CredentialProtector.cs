using System.Security.Cryptography;

namespace NHub.Grains.Services;

/// <summary>
/// Encrypts key material at rest (AES-256-GCM under the configured master key): PSKs, bound to their credential id,
/// and DTLS session secrets, bound to the session's record name. The binding is the GCM associated data, so a
/// ciphertext copied into another record does not decrypt there. Shared by the silo (master key) and the gateways,
/// which hold only a key derived for one purpose (<see cref="DeriveKey"/>), never the master key.
/// </summary>
public sealed class CredentialProtector
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _masterKey;

    public CredentialProtector(byte[] masterKey)
    {
        if (masterKey.Length != 32)
        {
            throw new ArgumentException("The master key must be 32 bytes (AES-256).", nameof(masterKey));
        }
        _masterKey = (byte[])masterKey.Clone();
    }

    /// <summary>
    /// A 32-byte key for one <paramref name="purpose"/> (HKDF-SHA256, RFC 5869, with the purpose as info): knowing it
    /// reveals neither the master key nor any other purpose's key.
    /// </summary>
    public byte[] DeriveKey(string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _masterKey, 32, salt: [], info: System.Text.Encoding.UTF8.GetBytes(purpose));

    /// <summary>A PSK bound to its credential: nonce ‖ ciphertext ‖ tag.</summary>
    public byte[] Protect(ReadOnlySpan<byte> key, Guid credentialId)
    {
        Span<byte> associatedData = stackalloc byte[16];
        credentialId.TryWriteBytes(associatedData);
        return Protect(key, associatedData);
    }

    public byte[] Unprotect(ReadOnlySpan<byte> protectedKey, Guid credentialId)
    {
        Span<byte> associatedData = stackalloc byte[16];
        credentialId.TryWriteBytes(associatedData);
        return Unprotect(protectedKey, associatedData);
    }

    /// <summary>
    /// nonce ‖ ciphertext ‖ tag, authenticated together with <paramref name="associatedData"/> (not stored: the caller
    /// must present the same bytes to <see cref="Unprotect(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>).
    /// </summary>
    public byte[] Protect(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_masterKey, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), associatedData);
        return output;
    }

    /// <summary>Throws <see cref="CryptographicException"/> when the ciphertext was altered or the associated data differs.</summary>
    public byte[] Unprotect(ReadOnlySpan<byte> protectedData, ReadOnlySpan<byte> associatedData)
    {
        if (protectedData.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("Protected data is too short.");
        }
        var length = protectedData.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(_masterKey, TagSize);
        aes.Decrypt(protectedData[..NonceSize], protectedData.Slice(NonceSize, length), protectedData[(NonceSize + length)..], plaintext, associatedData);
        return plaintext;
    }
}
