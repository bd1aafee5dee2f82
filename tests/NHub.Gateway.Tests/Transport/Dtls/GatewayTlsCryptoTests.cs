using System.Security.Cryptography;
using NHub.Gateway.Transport.Dtls;
using NHub.Testing;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The .NET elliptic-curve path of the ECDHE-ECDSA suites, checked against BouncyCastle's own, without sockets.</summary>
public sealed class GatewayTlsCryptoTests
{
    private readonly GatewayTlsCrypto _crypto = new();
    private readonly BcTlsCrypto _bouncyCastle = new(new SecureRandom());

    [Theory]
    [InlineData(NamedGroup.secp256r1)]
    [InlineData(NamedGroup.secp384r1)]
    public void Ecdhe_agrees_with_bouncy_castles_on_the_same_premaster_secret(int group)
    {
        var ours = _crypto.CreateECDomain(new TlsECConfig(group)).CreateECDH();
        var theirs = _bouncyCastle.CreateECDomain(new TlsECConfig(group)).CreateECDH();
        Assert.IsType<DotNetEcdhAgreement>(ours);

        var ourPoint = ours.GenerateEphemeral();
        theirs.ReceivePeerValue(ourPoint);
        ours.ReceivePeerValue(theirs.GenerateEphemeral());

        Assert.Equal(0x04, ourPoint[0]);
        Assert.Equal(theirs.CalculateSecret().Extract(), ours.CalculateSecret().Extract());
    }

    [Fact]
    public void A_peer_point_off_the_curve_or_compressed_is_an_illegal_parameter()
    {
        var offCurve = new byte[65];
        offCurve[0] = 0x04;
        offCurve[64] = 1;
        var compressed = new byte[33];
        compressed[0] = 0x02;

        var a = Assert.Throws<TlsFatalAlert>(() => _crypto.CreateECDomain(new TlsECConfig(NamedGroup.secp256r1)).CreateECDH().ReceivePeerValue(offCurve));
        var b = Assert.Throws<TlsFatalAlert>(() => _crypto.CreateECDomain(new TlsECConfig(NamedGroup.secp256r1)).CreateECDH().ReceivePeerValue(compressed));

        Assert.Equal(AlertDescription.illegal_parameter, a.AlertDescription);
        Assert.Equal(AlertDescription.illegal_parameter, b.AlertDescription);
    }

    [Fact]
    public void A_client_certificates_ecdsa_signature_is_verified_by_dotnet_and_a_changed_byte_fails()
    {
        using var device = TestCertificates.Device("meter-sig");
        var hash = SHA256.HashData("the handshake so far"u8);
        var signature = device.Key.SignHash(hash, DSASignatureFormat.Rfc3279DerSequence);
        var algorithm = SignatureAndHashAlgorithm.GetInstance(Org.BouncyCastle.Tls.HashAlgorithm.sha256, SignatureAlgorithm.ecdsa);

        var verifier = _crypto.CreateCertificate(CertificateType.X509, device.Der).CreateVerifier(SignatureAlgorithm.ecdsa);
        Assert.IsType<DotNetEcdsaVerifier>(verifier);
        Assert.True(verifier.VerifyRawSignature(new DigitallySigned(algorithm, signature), hash));

        signature[^1] ^= 1;
        var again = _crypto.CreateCertificate(CertificateType.RawPublicKey, device.SubjectPublicKeyInfo).CreateVerifier(SignatureAlgorithm.ecdsa);
        Assert.False(again.VerifyRawSignature(new DigitallySigned(algorithm, signature), hash));
    }
}
