using System.Security.Cryptography;
using Org.BouncyCastle.Tls.Crypto;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// BouncyCastle's crypto provider, with two things done by .NET (OpenSSL underneath) instead:
/// <list type="bullet">
/// <item>Nonces straight from the operating system's CSPRNG. BouncyCastle gives every TLS context its own SHA-256
/// DigestRandomGenerator for nonces (ServerHello.random, session ids), kept for the whole session: ~0.5 KB per session
/// (a quarter of a 100k-session gateway's heap was nonce generators and key schedules, bench/RESULTS.md), plus several
/// SHA-256 blocks per handshake to seed and run it. The OS generator (getrandom) is what that generator is seeded from
/// anyway and is safe to share between threads, so one stateless instance serves all contexts.</item>
/// <item>The elliptic-curve work of the ECDHE-ECDSA suites on the NIST curves (<see cref="DotNetEcTlsCrypto"/>): the
/// ephemeral key agreement and the verification of the client's CertificateVerify; the server's own signature is
/// <see cref="ServerCertificate"/>'s (<see cref="DotNetEcdsaSigner"/>). BouncyCastle's managed P-256 cost 4.3 ms of CPU
/// per full certificate handshake against OpenSSL's 1.9 (bench/RESULTS.md, "Certificate handshakes"). The handshake
/// protocol itself stays BouncyCastle's.</item>
/// </list>
/// </summary>
internal sealed class GatewayTlsCrypto : DotNetEcTlsCrypto
{
    public override TlsNonceGenerator CreateNonceGenerator(byte[] additionalSeedMaterial) => SystemNonceGenerator.Instance;

    private sealed class SystemNonceGenerator : TlsNonceGenerator
    {
        public static readonly SystemNonceGenerator Instance = new();

        public byte[] GenerateNonce(int size) => RandomNumberGenerator.GetBytes(size);
    }
}

