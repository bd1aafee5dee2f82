using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NHub.Grains;

/// <summary>
/// The name a certificate or raw-public-key credential is known by, the way a PSK credential is known by its PSK
/// identity: <c>x509:</c> + the SHA-256 of the certificate's DER, <c>rpk:</c> + the SHA-256 of the DER
/// SubjectPublicKeyInfo (RFC 7250 §3: what a raw-key Certificate message carries). The API computes it from what the
/// operator registers, a gateway from what the device presents, and both must agree byte for byte.
/// </summary>
public static class CredentialIdentities
{
    public const string X509Prefix = "x509:";
    public const string RpkPrefix = "rpk:";

    /// <summary>Lower-case hex SHA-256, the fingerprint shown by the API.</summary>
    public static string Fingerprint(ReadOnlySpan<byte> der) => Convert.ToHexStringLower(SHA256.HashData(der));

    public static string ForCertificate(ReadOnlySpan<byte> certificateDer) => X509Prefix + Fingerprint(certificateDer);

    public static string ForPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfoDer) => RpkPrefix + Fingerprint(subjectPublicKeyInfoDer);

    /// <summary>The OID of the subject's commonName (X.520).</summary>
    private const string CommonNameOid = "2.5.4.3";

    /// <summary>
    /// The device a certificate names: its subject's commonName (the last, if several), when that is a valid device
    /// id (<see cref="DeviceIds"/>); null otherwise. The rule devices' certificates are made by (docs/device-certificates.md).
    /// Throws <see cref="CryptographicException"/> for a subject name .NET cannot decode.
    /// </summary>
    public static string? DeviceIdOf(X509Certificate2 certificate)
    {
        string? commonName = null;
        // In DER order (reversed: false; the default walks it backwards), so the last CN wins: the most specific one.
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames(reversed: false))
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonNameOid)
            {
                commonName = rdn.GetSingleElementValue();
            }
        }
        return DeviceIds.IsValid(commonName) ? commonName : null;
    }

    /// <summary>The <see cref="CredentialAuthTypes"/> value a name belongs to: x509 and rpk by their prefix, psk otherwise.</summary>
    public static string AuthTypeOf(string identity) =>
        identity.StartsWith(X509Prefix, StringComparison.Ordinal) ? CredentialAuthTypes.X509
        : identity.StartsWith(RpkPrefix, StringComparison.Ordinal) ? CredentialAuthTypes.Rpk
        : CredentialAuthTypes.Psk;

    /// <summary>True for names no PSK identity can take: a PSK handshake offering one gets no key.</summary>
    public static bool IsKeyIdentity(string identity) => AuthTypeOf(identity) != CredentialAuthTypes.Psk;
}
