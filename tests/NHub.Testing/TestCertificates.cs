using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NHub.Testing;

/// <summary>
/// Certificates made for a test (ECDSA P-256, as device stacks use): authorities, device certificates they issue,
/// self-signed ones, and raw keys; each with its private key, written as PEM where a real client needs files.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    internal TestCertificate(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        Key = key;
    }

    /// <summary>Carries its private key (<see cref="X509Certificate2.HasPrivateKey"/>), so it can issue others.</summary>
    public X509Certificate2 Certificate { get; }

    public ECDsa Key { get; }

    public byte[] Der => Certificate.RawData;

    public string CertificatePem => new(PemEncoding.Write("CERTIFICATE", Certificate.RawData));

    public string KeyPem => new(PemEncoding.Write("PRIVATE KEY", Key.ExportPkcs8PrivateKey()));

    public byte[] SubjectPublicKeyInfo => Key.ExportSubjectPublicKeyInfo();

    public string PublicKeyPem => new(PemEncoding.Write("PUBLIC KEY", SubjectPublicKeyInfo));

    /// <summary>Writes the certificate (with <paramref name="chain"/> after it) and its key into <paramref name="directory"/>; returns the two paths.</summary>
    public (string Certificate, string Key) WritePem(string directory, string name, params TestCertificate[] chain)
    {
        var certificate = Path.Combine(directory, name + ".crt");
        var key = Path.Combine(directory, name + ".key");
        File.WriteAllText(certificate, CertificatePem + string.Concat(chain.Select(c => "\n" + c.CertificatePem)));
        File.WriteAllText(key, KeyPem);
        return (certificate, key);
    }

    /// <summary>The raw-key file libcoap's <c>-M</c> reads: the private key, then the public key.</summary>
    public string WriteRawKeyPem(string directory, string name)
    {
        var path = Path.Combine(directory, name + ".rpk.pem");
        File.WriteAllText(path, KeyPem + "\n" + PublicKeyPem);
        return path;
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Key.Dispose();
    }
}

public static class TestCertificates
{
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>An authority (a root, or an intermediate of <paramref name="issuer"/>), valid from 30 days ago for <paramref name="days"/> days.</summary>
    public static TestCertificate Authority(string name = "NHub Test Device CA", int days = 3650, TestCertificate? issuer = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        // An issuer must cover what it issues: intermediates start a little after their root.
        var from = DateTimeOffset.UtcNow.AddDays(issuer is null ? -30 : -29);
        X509Certificate2 certificate;
        if (issuer is null)
        {
            certificate = request.CreateSelfSigned(from, from.AddDays(days));
        }
        else
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer.Certificate, true, false));
            using var issued = request.Create(issuer.Certificate, from, from.AddDays(days - 1), RandomNumberGenerator.GetBytes(16));
            certificate = issued.CopyWithPrivateKey(key);
        }
        return new TestCertificate(certificate, key);
    }

    /// <summary>
    /// A device certificate with subject CN <paramref name="commonName"/>: issued by <paramref name="issuer"/>, or
    /// self-signed when null. <paramref name="notBefore"/>/<paramref name="notAfter"/> default to a day ago and a year
    /// on; <paramref name="serverUsageOnly"/> gives it the serverAuth usage alone (wrong for a device) and the names
    /// 127.0.0.1 and localhost.
    /// </summary>
    public static TestCertificate Device(string commonName, TestCertificate? issuer = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null,
        bool serverUsageOnly = false)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverUsageOnly ? ServerAuthentication : ClientAuthentication)], false));
        if (serverUsageOnly)
        {
            // A server on loopback: HTTPS clients (a coaps+ws one) check the name they connected to.
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
        }
        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var until = notAfter ?? DateTimeOffset.UtcNow.AddDays(365);
        X509Certificate2 certificate;
        if (issuer is null)
        {
            certificate = request.CreateSelfSigned(from, until);
        }
        else
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer.Certificate, true, false));
            using var issued = request.Create(issuer.Certificate, from, until, RandomNumberGenerator.GetBytes(16));
            certificate = issued.CopyWithPrivateKey(key);
        }
        return new TestCertificate(certificate, key);
    }

    /// <summary>A key pair for a raw-public-key device (RFC 7250), carried in a throwaway self-signed certificate.</summary>
    public static TestCertificate RawKey() => Device("raw-key");
}
