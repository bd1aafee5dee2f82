using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NHub.ManagementApi.Http;

/// <summary>
/// Reads the certificates and public keys the API is given: PEM (RFC 7468), or the base64 of the DER. Limited in size,
/// and every failure becomes a field error, never a 500.
/// </summary>
internal static class KeyMaterialReader
{
    /// <summary>A certificate chain of a few certificates fits; larger bodies are not key material.</summary>
    public const int MaxLength = 16 * 1024;

    /// <summary>One certificate (the first of a PEM bundle), or the error message for its field.</summary>
    public static X509Certificate2? ReadCertificate(string? text, out string? error)
    {
        if (Decode(text, "CERTIFICATE", out var der, out error) is false)
        {
            return null;
        }
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException)
        {
            error = "is not an X.509 certificate (PEM, or base64 DER)";
            return null;
        }
    }

    /// <summary>
    /// A DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, what RFC 7250 §3 sends) of an EC or RSA key, kept byte for byte:
    /// its fingerprint must match what the device presents. Null with an error message otherwise.
    /// </summary>
    public static byte[]? ReadPublicKey(string? text, out string? error)
    {
        if (Decode(text, "PUBLIC KEY", out var der, out error) is false)
        {
            return null;
        }
        if (Imports(der, ECDsa.Create) || Imports(der, RSA.Create))
        {
            return der;
        }
        error = "is not an EC or RSA SubjectPublicKeyInfo (PEM 'PUBLIC KEY', or base64 DER)";
        return null;
    }

    private static bool Imports(byte[] der, Func<AsymmetricAlgorithm> create)
    {
        using var key = create();
        try
        {
            key.ImportSubjectPublicKeyInfo(der, out var read);
            return read == der.Length;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool Decode(string? text, string label, out byte[] der, out string? error)
    {
        der = [];
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "is required";
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = $"must be at most {MaxLength} characters";
            return false;
        }
        var span = text.AsSpan();
        if (span.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            while (PemEncoding.TryFind(span, out var fields))
            {
                if (span[fields.Label].SequenceEqual(label))
                {
                    der = Convert.FromBase64String(span[fields.Base64Data].ToString());
                    error = null;
                    return true;
                }
                span = span[fields.Location.End..];
            }
            error = $"holds no PEM '{label}' block";
            return false;
        }
        try
        {
            der = Convert.FromBase64String(text.Trim());
            error = der.Length > 0 ? null : "is empty";
            return der.Length > 0;
        }
        catch (FormatException)
        {
            error = $"must be PEM ('-----BEGIN {label}-----') or base64 DER";
            return false;
        }
    }
}
