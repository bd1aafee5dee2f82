using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// BouncyCastle's crypto provider, with two things done by .NET (OpenSSL underneath) instead:
/// <list type="bullet">
/// <item>Nonces straight from the operating system's CSPRNG. BouncyCastle gives every TLS context its own SHA-256
/// DigestRandomGenerator for nonces (ServerHello.random, session ids), kept for the whole session: ~0.5 KB per session
/// (a quarter of a 100k-session gateway's heap was nonce generators and key schedules, bench/RESULTS.md), plus several
/// SHA-256 blocks per handshake to seed and run it. The OS generator (getrandom) is what that generator is seeded from
/// anyway and is safe to share between threads, so one stateless instance serves all contexts.</item>
/// <item>The elliptic-curve work of the ECDHE-ECDSA suites on the NIST curves: the ephemeral key agreement
/// (<see cref="DotNetEcdhAgreement"/>) and the verification of the client's CertificateVerify
/// (<see cref="DotNetEcdsaVerifier"/>); the server's own signature is <see cref="ServerCertificate"/>'s. BouncyCastle's
/// managed P-256 cost 4.3 ms of CPU per full certificate handshake against OpenSSL's 1.9 (bench/RESULTS.md,
/// "Certificate handshakes"). The handshake protocol itself stays BouncyCastle's.</item>
/// </list>
/// </summary>
internal sealed class GatewayTlsCrypto() : BcTlsCrypto(new SecureRandom())
{
    public override TlsNonceGenerator CreateNonceGenerator(byte[] additionalSeedMaterial) => SystemNonceGenerator.Instance;

    public override TlsECDomain CreateECDomain(TlsECConfig ecConfig) => DotNetEcdhAgreement.CurveOf(ecConfig.NamedGroup) is { } curve
        ? new DotNetEcdhDomain(this, curve, NamedGroup.GetCurveBits(ecConfig.NamedGroup))
        : base.CreateECDomain(ecConfig);

    /// <summary>Certificates whose ECDSA signatures .NET verifies (every other algorithm stays BouncyCastle's).</summary>
    public override TlsCertificate CreateCertificate(short type, byte[] encoding) => type switch
    {
        CertificateType.X509 => new DotNetVerifiedCertificate(this, encoding),
        CertificateType.RawPublicKey => new DotNetVerifiedRawKey(this, encoding),
        _ => base.CreateCertificate(type, encoding),
    };

    private sealed class SystemNonceGenerator : TlsNonceGenerator
    {
        public static readonly SystemNonceGenerator Instance = new();

        public byte[] GenerateNonce(int size) => RandomNumberGenerator.GetBytes(size);
    }

    private sealed class DotNetEcdhDomain(BcTlsCrypto crypto, ECCurve curve, int bits) : TlsECDomain
    {
        public TlsAgreement CreateECDH() => new DotNetEcdhAgreement(crypto, curve, (bits + 7) / 8);
    }

    private sealed class DotNetVerifiedCertificate(BcTlsCrypto crypto, byte[] encoding) : BcTlsCertificate(crypto, encoding)
    {
        public override TlsVerifier CreateVerifier(short signatureAlgorithm) => signatureAlgorithm == SignatureAlgorithm.ecdsa
            ? DotNetEcdsaVerifier.Create(base.CreateVerifier(signatureAlgorithm), SubjectPublicKeyInfo.GetEncoded())
            : base.CreateVerifier(signatureAlgorithm);
    }

    private sealed class DotNetVerifiedRawKey(BcTlsCrypto crypto, byte[] encoding) : BcTlsRawKeyCertificate(crypto, encoding)
    {
        public override TlsVerifier CreateVerifier(short signatureAlgorithm) => signatureAlgorithm == SignatureAlgorithm.ecdsa
            ? DotNetEcdsaVerifier.Create(base.CreateVerifier(signatureAlgorithm), SubjectPublicKeyInfo.GetEncoded())
            : base.CreateVerifier(signatureAlgorithm);
    }
}

/// <summary>
/// ECDHE on a NIST curve (RFC 8422 §5.4, §5.10) with .NET's ECDiffieHellman: our point goes out uncompressed, the
/// peer's must be an uncompressed point on the curve (checked by the import; anything else is illegal_parameter), and
/// the premaster secret is the shared point's x-coordinate, fixed length.
/// </summary>
internal sealed class DotNetEcdhAgreement(BcTlsCrypto crypto, ECCurve curve, int coordinateLength) : TlsAgreement
{
    private readonly ECDiffieHellman _local = ECDiffieHellman.Create(curve);
    private ECDiffieHellman? _peer;

    public static ECCurve? CurveOf(int namedGroup) => namedGroup switch
    {
        NamedGroup.secp256r1 => ECCurve.NamedCurves.nistP256,
        NamedGroup.secp384r1 => ECCurve.NamedCurves.nistP384,
        NamedGroup.secp521r1 => ECCurve.NamedCurves.nistP521,
        _ => null,
    };

    public byte[] GenerateEphemeral()
    {
        var q = _local.ExportParameters(includePrivateParameters: false).Q;
        var point = new byte[1 + 2 * coordinateLength];
        point[0] = 0x04; // uncompressed (RFC 8422 §5.4.1: the only format in use)
        q.X!.CopyTo(point, 1 + coordinateLength - q.X.Length);
        q.Y!.CopyTo(point, 1 + 2 * coordinateLength - q.Y.Length);
        return point;
    }

    public void ReceivePeerValue(byte[] peerValue)
    {
        if (peerValue.Length != 1 + 2 * coordinateLength || peerValue[0] != 0x04)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "the peer's ECDH point is not an uncompressed point of the curve");
        }
        try
        {
            var peer = ECDiffieHellman.Create();
            peer.ImportParameters(new ECParameters
            {
                Curve = curve,
                Q = new ECPoint { X = peerValue[1..(1 + coordinateLength)], Y = peerValue[(1 + coordinateLength)..] },
            });
            _peer = peer;
        }
        catch (CryptographicException ex)
        {
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "the peer's ECDH point is not on the curve", ex);
        }
    }

    public TlsSecret CalculateSecret()
    {
        var peer = _peer ?? throw new TlsFatalAlert(AlertDescription.internal_error, "no peer value");
        var shared = _local.DeriveRawSecretAgreement(peer.PublicKey);
        try
        {
            return crypto.CreateSecret(shared);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
            _local.Dispose();
            peer.Dispose();
        }
    }
}

/// <summary>
/// Verifies an ECDSA signature (RFC 8422 §5.8: DER-encoded, over the hash BouncyCastle computed) with .NET. Created only
/// after BouncyCastle's own checks of the key (its usage) passed; a key .NET cannot import keeps BouncyCastle's verifier.
/// </summary>
internal sealed class DotNetEcdsaVerifier(ECDsa key) : TlsVerifier
{
    public static TlsVerifier Create(TlsVerifier bouncyCastle, byte[] subjectPublicKeyInfo)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            return new DotNetEcdsaVerifier(key);
        }
        catch (CryptographicException)
        {
            key.Dispose();
            return bouncyCastle;
        }
    }

    public TlsStreamVerifier? GetStreamVerifier(DigitallySigned digitallySigned) => null;

    public bool VerifyRawSignature(DigitallySigned digitallySigned, byte[] hash)
    {
        if (digitallySigned.Algorithm is { } algorithm && algorithm.Signature != SignatureAlgorithm.ecdsa)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error);
        }
        using (key)
        {
            return key.VerifyHash(hash, digitallySigned.Signature, DSASignatureFormat.Rfc3279DerSequence);
        }
    }
}
