using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>The PSK cipher suites the gateway speaks, by their IANA names.</summary>
public static class DtlsCipherSuites
{
    public const string Ccm8 = "TLS_PSK_WITH_AES_128_CCM_8";
    public const string Gcm = "TLS_PSK_WITH_AES_128_GCM_SHA256";
    public const string Cbc = "TLS_PSK_WITH_AES_128_CBC_SHA256";

    /// <summary>CCM_8 first: RFC 7252 §9.1.3.1's mandatory suite, and the smallest overhead (8-byte tag) on constrained links.</summary>
    public static IReadOnlyList<string> DefaultOrder { get; } = [Ccm8, Gcm, Cbc];

    public static bool TryParse(string name, out int suite)
    {
        suite = name switch
        {
            Ccm8 => CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
            Gcm => CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256,
            Cbc => CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256,
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
