using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>
/// A device's DTLS 1.2 PSK client: BouncyCastle's <see cref="PskTlsClient"/> restricted to DTLS 1.2 (its default is
/// TLS) and to the configured suites (RFC 7252 §9.1.3.1: TLS_PSK_WITH_AES_128_CCM_8 is the one every device has),
/// with a bounded handshake (BouncyCastle's default 0 waits forever). With <paramref name="offeredConnectionId"/> it
/// sends the RFC 9146 connection_id extension: the CID it wants in the server's records, empty for "none, but give
/// me yours" (RFC 9146 §3), which is what a device that only needs to survive NAT rebinding asks for.
/// </summary>
internal sealed class SimPskClient(TlsCrypto crypto, string identity, byte[] key, int[] suites, int handshakeTimeoutMillis, byte[]? offeredConnectionId = null)
    : PskTlsClient(crypto, new BasicTlsPskIdentity(identity, key))
{
    /// <summary>The server's CID, which BouncyCastle writes into every record this client sends (null: none negotiated).</summary>
    public byte[]? ServerConnectionId { get; private set; }

    /// <summary>The session's records from here on (BouncyCastle's own record layer is not used after the handshake).</summary>
    public ClientRecordLayer? RecordLayer { get; private set; }

    public override IDictionary<int, byte[]> GetClientExtensions() => ClientConnectionId.Offer(base.GetClientExtensions(), offeredConnectionId);

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        ServerConnectionId = ClientConnectionId.Chosen(m_context.SecurityParameters);
        RecordLayer = ClientRecordLayer.From(m_context.SecurityParameters);
    }

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
        "ecdsa-ccm8" or "tls_ecdhe_ecdsa_with_aes_128_ccm_8" => CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
        "ecdsa-gcm" or "tls_ecdhe_ecdsa_with_aes_128_gcm_sha256" => CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        _ => throw new ArgumentException($"--cipher-suites: unknown suite '{name}' (ccm8, ccm, gcm, cbc, ecdsa-ccm8, ecdsa-gcm)"),
    })];
}
