using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>The cipher suites the gateway speaks, by their IANA names: PSK, and ECDHE-ECDSA for certificates and raw public keys.</summary>
public static class DtlsCipherSuites
{
    public const string Ccm8 = "TLS_PSK_WITH_AES_128_CCM_8";
    public const string Gcm = "TLS_PSK_WITH_AES_128_GCM_SHA256";
    public const string Cbc = "TLS_PSK_WITH_AES_128_CBC_SHA256";

    /// <summary>RFC 7252 §9.1.3.2/§9.1.3.3's mandatory suite for raw public keys and certificates (RFC 7251).</summary>
    public const string EcdsaCcm8 = "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8";

    /// <summary>For certificate stacks without CCM (RFC 5289).</summary>
    public const string EcdsaGcm = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";

    /// <summary>The PSK suites, CCM_8 first: RFC 7252 §9.1.3.1's mandatory suite, and the smallest overhead (8-byte tag) on constrained links.</summary>
    public static IReadOnlyList<string> PskSuites { get; } = [Ccm8, Gcm, Cbc];

    /// <summary>
    /// Every suite, the PSK ones first. A client offers the suites of the credential it has (libcoap offers PSK
    /// suites for -k, ECDHE-ECDSA ones for -c or -M), so the order decides only for a client offering both.
    /// </summary>
    public static IReadOnlyList<string> DefaultOrder { get; } = [Ccm8, Gcm, Cbc, EcdsaCcm8, EcdsaGcm];

    /// <summary>True for the suites that authenticate with a signature (a certificate or a raw public key), not a PSK.</summary>
    public static bool IsCertificateSuite(int suite) =>
        suite is CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 or CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;

    public static bool TryParse(string name, out int suite)
    {
        suite = name switch
        {
            Ccm8 => CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
            Gcm => CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256,
            Cbc => CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
            EcdsaCcm8 => CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
            EcdsaGcm => CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            _ => -1,
        };
        return suite >= 0;
    }

    internal static int[] Parse(IEnumerable<string> names)
    {
        var result = new List<int>();
        foreach (var name in names)
        {
            if (!TryParse(name, out var suite))
            {
                throw new ArgumentException($"Unsupported cipher suite '{name}'", nameof(names));
            }
            if (!result.Contains(suite))
            {
                result.Add(suite);
            }
        }
        return [.. result];
    }
}
