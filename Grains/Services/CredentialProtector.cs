using System.Security.Cryptography;

namespace NHub.Grains.Services;

/// <summary>
/// Encrypts PSK key material at rest (AES-256-GCM under the configured master key). The credential id is bound as
/// associated data, so a ciphertext moved to another credential does not decrypt.
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

    /// <summary>nonce ‖ ciphertext ‖ tag.</summary>
    public byte[] Protect(ReadOnlySpan<byte> key, Guid credentialId)
    {
        var output = new byte[NonceSize + key.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_masterKey, TagSize);
        aes.Encrypt(nonce, key, output.AsSpan(NonceSize, key.Length), output.AsSpan(NonceSize + key.Length), credentialId.ToByteArray());
        return output;
    }

    public byte[] Unprotect(ReadOnlySpan<byte> protectedKey, Guid credentialId)
    {
        if (protectedKey.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("Protected key is too short.");
        }
        var length = protectedKey.Length - NonceSize - TagSize;
        var key = new byte[length];
        using var aes = new AesGcm(_masterKey, TagSize);
        aes.Decrypt(protectedKey[..NonceSize], protectedKey.Slice(NonceSize, length), protectedKey[(NonceSize + length)..], key, credentialId.ToByteArray());
        return key;
    }
}
