using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// BouncyCastle's crypto provider with nonces straight from the operating system's CSPRNG. BouncyCastle gives every
/// TLS context its own SHA-256 DigestRandomGenerator for nonces (ServerHello.random, session ids), kept for the
/// whole session: ~0.5 KB per session (a quarter of a 100k-session gateway's heap was nonce generators and key
/// schedules, bench/RESULTS.md), plus several SHA-256 blocks per handshake to seed and run it. The OS generator
/// (getrandom) is what that generator is seeded from anyway and is safe to share between threads, so one stateless
/// instance serves all contexts.
/// </summary>
internal sealed class GatewayTlsCrypto() : BcTlsCrypto(new SecureRandom())
{
    public override TlsNonceGenerator CreateNonceGenerator(byte[] additionalSeedMaterial) => SystemNonceGenerator.Instance;

    private sealed class SystemNonceGenerator : TlsNonceGenerator
    {
        public static readonly SystemNonceGenerator Instance = new();

        public byte[] GenerateNonce(int size) => RandomNumberGenerator.GetBytes(size);
    }
}
