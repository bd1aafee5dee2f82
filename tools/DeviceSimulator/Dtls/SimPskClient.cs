using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>
/// A device's DTLS 1.2 PSK client: BouncyCastle's <see cref="PskTlsClient"/> restricted to DTLS 1.2 (its default is
/// TLS) and to the configured suites (RFC 7252 §9.1.3.1: TLS_PSK_WITH_AES_128_CCM_8 is the one every device has),
/// with a bounded handshake (BouncyCastle's default 0 waits forever).
/// </summary>
internal sealed class SimPskClient(TlsCrypto crypto, string identity, byte[] key, int[] suites, int handshakeTimeoutMillis)
    : PskTlsClient(crypto, new BasicTlsPskIdentity(identity, key))
{
    public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMillis;

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, suites);

    /// <summary>Small stacks omit the renegotiation extension; so may servers. Not a reason to fail (RFC 5746 is TLS renegotiation, which DTLS PSK devices never do).</summary>
    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    /// <summary>Cipher-suite names accepted by --cipher-suites.</summary>
    public static int[] ParseSuites(string list) => [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(name => name.ToLowerInvariant() switch
    {
        "ccm8" or "tls_psk_with_aes_128_ccm_8" => CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
        "ccm" or "tls_psk_with_aes_128_ccm" => CipherSuite.TLS_PSK_WITH_AES_128_CCM,
        "gcm" or "tls_psk_with_aes_128_gcm_sha256" => CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256,
        "cbc" or "tls_psk_with_aes_128_cbc_sha256" => CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
        _ => throw new ArgumentException($"--cipher-suites: unknown suite '{name}' (ccm8, ccm, gcm, cbc)"),
    })];
}
