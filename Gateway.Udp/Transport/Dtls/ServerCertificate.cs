using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The gateway's own certificate and ECDSA key for the ECDHE-ECDSA suites (RFC 7252 §9.1.3.3): loaded from PEM files
/// (<c>Gateway:Dtls:Certificate:Path</c>, <c>:KeyPath</c>), or, when none is configured, a self-signed P-256 one made
/// at start (its fingerprint is logged; devices that pin it must be told again after each start). To a device asking
/// for a raw public key (RFC 7250 server_certificate_type) the same key is presented as one.
/// </summary>
public sealed class ServerCertificate
{
    private readonly byte[][] _chain;
    private readonly byte[] _publicKey;
    private readonly PerThreadEcdsaKey _key;

    private ServerCertificate(byte[][] chain, byte[] publicKey, byte[] pkcs8, bool selfSigned)
    {
        _chain = chain;
        _publicKey = publicKey;
        _key = new(pkcs8);
        SelfSigned = selfSigned;
        Fingerprint = NHub.Grains.CredentialIdentities.Fingerprint(chain[0]);
        PublicKeyFingerprint = NHub.Grains.CredentialIdentities.Fingerprint(publicKey);
    }

    /// <summary>SHA-256 of the certificate's DER, lower-case hex.</summary>
    public string Fingerprint { get; }

    /// <summary>SHA-256 of the SubjectPublicKeyInfo: what a device pinning the gateway's raw public key pins.</summary>
    public string PublicKeyFingerprint { get; }

    public bool SelfSigned { get; }

    /// <summary>The leaf's DER (tests and the fingerprint log).</summary>
    public ReadOnlySpan<byte> Leaf => _chain[0];

    /// <summary>Loads the PEM certificate chain (leaf first) and its ECDSA private key; throws with a readable message.</summary>
    /// <summary>The configured certificate (<c>Gateway:Dtls:Certificate:Path/KeyPath</c>), or a self-signed one made now.</summary>
    public static ServerCertificate From(DtlsCertificateOptions options, TimeProvider time) =>
        options.IsConfigured ? Load(options.Path!, options.KeyPath!) : CreateSelfSigned(options.SelfSignedName, time);

    public static ServerCertificate Load(string certificatePath, string keyPath)
    {
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(certificatePath);
        if (chain.Count == 0)
        {
            throw new InvalidDataException($"'{certificatePath}' holds no PEM certificate");
        }
        using var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(File.ReadAllText(keyPath));
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"'{keyPath}' holds no PEM ECDSA private key (the ECDHE-ECDSA suites need one; RSA is not supported): {ex.Message}", ex);
        }
        using var leaf = chain[0];
        using var leafKey = leaf.GetECDsaPublicKey() ?? throw new InvalidDataException($"the certificate in '{certificatePath}' has no ECDSA public key");
        if (!leafKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(ecdsa.ExportSubjectPublicKeyInfo()))
        {
            throw new InvalidDataException($"the key in '{keyPath}' does not belong to the certificate in '{certificatePath}'");
        }
        var der = chain.Select(c => c.RawData).ToArray();
        foreach (var certificate in chain)
        {
            certificate.Dispose();
        }
        return new ServerCertificate(der, ecdsa.ExportSubjectPublicKeyInfo(), ecdsa.ExportPkcs8PrivateKey(), selfSigned: false);
    }

    /// <summary>A fresh P-256 key and a self-signed certificate for it, valid from an hour ago for a year.</summary>
    public static ServerCertificate CreateSelfSigned(string commonName, TimeProvider time)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(new X500DistinguishedName("CN=" + commonName), ecdsa, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = time.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddHours(-1), now.AddYears(1));
        return new ServerCertificate([certificate.RawData], ecdsa.ExportSubjectPublicKeyInfo(), ecdsa.ExportPkcs8PrivateKey(), selfSigned: true);
    }

    /// <summary>
    /// The signer BouncyCastle's ECDHE_ECDSA key exchange uses for one handshake: the X.509 chain, or the raw key when
    /// the client accepts only that (RFC 7250 §4.1). The signature itself is .NET's (see <see cref="GatewayTlsCrypto"/>).
    /// </summary>
    public TlsCredentialedSigner Signer(TlsContext context, BcTlsCrypto crypto, bool rawPublicKey)
    {
        var certificate = rawPublicKey
            ? new Certificate(CertificateType.RawPublicKey, null, [new CertificateEntry(new BcTlsRawKeyCertificate(crypto, _publicKey), null)])
            : new Certificate(_chain.Select(der => (TlsCertificate)new BcTlsCertificate(crypto, der)).ToArray());
        var algorithm = TlsUtilities.ChooseSignatureAndHashAlgorithm(context, context.SecurityParameters.ClientSigAlgs, SignatureAlgorithm.ecdsa);
        return new DotNetEcdsaSigner(() => _key.Current, certificate, algorithm);
    }
}
