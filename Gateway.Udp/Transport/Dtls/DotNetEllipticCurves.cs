using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.Gateway.Transport.Dtls;

// One home for BouncyCastle-on-.NET elliptic curves, compiled into the gateway and, linked, into tools/DeviceSimulator
// (a load generator must not spend more per handshake than the server it measures). So: no references to gateway types.

/// <summary>
/// BouncyCastle's TLS crypto with the ECDHE-ECDSA suites' elliptic-curve work on .NET (OpenSSL underneath) for the
/// NIST curves: the ephemeral agreement (<see cref="DotNetEcdhAgreement"/>) and the verification of ECDSA signatures by
/// a certificate's or raw key's owner (<see cref="DotNetEcdsaVerifier"/>). Signing is <see cref="DotNetEcdsaSigner"/>'s.
/// Every other algorithm, and the protocol, stay BouncyCastle's.
/// </summary>
#pragma warning disable CA1852 // the gateway derives GatewayTlsCrypto from it; the simulator, where this file is linked, does not
internal class DotNetEcTlsCrypto() : BcTlsCrypto(new SecureRandom())
#pragma warning restore CA1852
{
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
/// A private key (PKCS#8) as .NET ECDsa objects, one per thread: handshake threads sign concurrently, and an ECDsa
/// object is not documented as safe to share. A thread keeps the last key it used (handshake threads serve one
/// gateway or one simulated fleet, so that is the one they use again).
/// </summary>
internal sealed class PerThreadEcdsaKey(byte[] pkcs8)
{
    [ThreadStatic]
    private static (PerThreadEcdsaKey Owner, ECDsa Key)? t_key;

    public ECDsa Current
    {
        get
        {
            if (t_key is { } cached && ReferenceEquals(cached.Owner, this))
            {
                return cached.Key;
            }
            t_key?.Key.Dispose();
            var key = ECDsa.Create();
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            t_key = (this, key);
            return key;
        }
    }
}

/// <summary>
/// An ECDSA signature for the handshake (RFC 8422 §5.4 ServerKeyExchange, §5.8 CertificateVerify): DER-encoded, over
/// the hash BouncyCastle computed, by <paramref name="key"/> (which the caller keeps to one thread at a time).
/// </summary>
internal sealed class DotNetEcdsaSigner(Func<ECDsa> key, Certificate certificate, SignatureAndHashAlgorithm? algorithm) : TlsCredentialedSigner
{
    public Certificate Certificate => certificate;

    public SignatureAndHashAlgorithm? SignatureAndHashAlgorithm => algorithm;

    public byte[] GenerateRawSignature(byte[] hash) => key().SignHash(hash, DSASignatureFormat.Rfc3279DerSequence);

    public TlsStreamSigner? GetStreamSigner() => null;
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
