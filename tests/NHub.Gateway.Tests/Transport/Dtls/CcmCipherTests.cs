using System.Security.Cryptography;
using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>
/// The gateway's own AES-128-CCM against a published vector and against .NET's <see cref="AesCcm"/> (OpenSSL), an
/// implementation nobody here wrote: every length from empty to several blocks, with and without additional data,
/// both DTLS tag sizes, in place and not; and forgeries refused with the plaintext wiped.
/// </summary>
public sealed class CcmCipherTests
{
    private static readonly byte[] Key = Convert.FromHexString("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF");

    [Fact]
    public void Rfc3610_packet_vector_1()
    {
        // RFC 3610 §8, Packet Vector #1: M = 8, L = 2 (13-byte nonce), 8 bytes of header authenticated, 23 encrypted.
        var nonce = Convert.FromHexString("00000003020100A0A1A2A3A4A5");
        var header = Convert.FromHexString("0001020304050607");
        var payload = Convert.FromHexString("08090A0B0C0D0E0F101112131415161718191A1B1C1D1E");
        using var ccm = new CcmCipher(Key, 8);
        var ciphertext = new byte[payload.Length];
        var tag = new byte[8];
        ccm.Encrypt(nonce, payload, ciphertext, tag, header);
        Assert.Equal("588C979A61C663D2F066D0C2C0F989806D5F6B61DAC384", Convert.ToHexString(ciphertext));
        Assert.Equal("17E8D12CFDF926E0", Convert.ToHexString(tag));
    }

    public static TheoryData<bool, int, int, int> Shapes()
    {
        var data = new TheoryData<bool, int, int, int>();
        foreach (var (hardware, tag) in new[] { (true, 8), (true, 16), (false, 8) })
        {
            foreach (var aad in new[] { 0, 13, 14, 23, 29, 300 })
            {
                foreach (var length in new[] { 0, 1, 15, 16, 17, 31, 32, 33, 60, 255, 1024, 1400 })
                {
                    data.Add(hardware, tag, aad, length);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Agrees_with_dotnet_AesCcm_both_ways(bool hardware, int tagSize, int aadLength, int length)
    {
        var key = RandomNumberGenerator.GetBytes(16);
        var nonce = RandomNumberGenerator.GetBytes(12); // DTLS: 4-byte salt ‖ 8-byte explicit nonce
        var aad = RandomNumberGenerator.GetBytes(aadLength);
        var plaintext = RandomNumberGenerator.GetBytes(length);
        using var ours = new CcmCipher(key, tagSize, hardware);
        using var reference = new AesCcm(key);

        var expected = new byte[length];
        var expectedTag = new byte[tagSize];
        reference.Encrypt(nonce, plaintext, expected, expectedTag, aad);
        var ciphertext = new byte[length];
        var tag = new byte[tagSize];
        ours.Encrypt(nonce, plaintext, ciphertext, tag, aad);
        Assert.Equal(expected, ciphertext);
        Assert.Equal(expectedTag, tag);

        // In place, as the record layer seals: the same bytes.
        var inPlace = plaintext.ToArray();
        var inPlaceTag = new byte[tagSize];
        ours.Encrypt(nonce, inPlace, inPlace, inPlaceTag, aad);
        Assert.Equal(expected, inPlace);
        Assert.Equal(expectedTag, inPlaceTag);

        // And it opens what OpenSSL sealed, in place too.
        var opened = new byte[length];
        Assert.True(ours.TryDecrypt(nonce, expected, expectedTag, opened, aad));
        Assert.Equal(plaintext, opened);
        Assert.True(ours.TryDecrypt(nonce, inPlace, expectedTag, inPlace, aad));
        Assert.Equal(plaintext, inPlace);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_changed_byte_anywhere_is_refused_and_the_output_wiped(bool hardware)
    {
        var nonce = RandomNumberGenerator.GetBytes(12);
        var aad = RandomNumberGenerator.GetBytes(13);
        var plaintext = RandomNumberGenerator.GetBytes(40);
        using var ccm = new CcmCipher(Key, 8, hardware);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[8];
        ccm.Encrypt(nonce, plaintext, ciphertext, tag, aad);
        foreach (var (name, buffer) in new[] { ("ciphertext", ciphertext), ("tag", tag), ("additional data", aad), ("nonce", nonce) })
        {
            for (var i = 0; i < buffer.Length; i++)
            {
                buffer[i] ^= 0x01;
                var output = new byte[plaintext.Length];
                output.AsSpan().Fill(0xAA);
                Assert.False(ccm.TryDecrypt(nonce, ciphertext, tag, output, aad), $"{name} byte {i} changed and it still opened");
                Assert.True(output.All(b => b == 0 || b == 0xAA), "a refused record leaves no decrypted bytes behind");
                buffer[i] ^= 0x01;
            }
        }
        var ok = new byte[plaintext.Length];
        Assert.True(ccm.TryDecrypt(nonce, ciphertext, tag, ok, aad));
        Assert.Equal(plaintext, ok);
        Assert.False(ccm.TryDecrypt(nonce, ciphertext, tag.AsSpan(0, 7), ok, aad)); // a short tag is not a tag
    }

    [Fact]
    public void Bad_parameters_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new CcmCipher(new byte[32], 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CcmCipher(Key, 7));
        using var ccm = new CcmCipher(Key, 8);
        Assert.Throws<ArgumentException>(() => ccm.Encrypt(new byte[14], new byte[1], new byte[1], new byte[8], []));
        Assert.Throws<ArgumentException>(() => ccm.Encrypt(new byte[12], new byte[4], new byte[3], new byte[8], []));
    }
}
