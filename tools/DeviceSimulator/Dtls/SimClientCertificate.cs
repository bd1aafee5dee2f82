using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>A device certificate chain and its ECDSA key (from --certificate/--certificate-key PEM files), shared by every simulated device.</summary>
internal sealed class SimClientCertificate
{
    private readonly byte[][] _chain;
    private readonly NHub.Gateway.Transport.Dtls.PerThreadEcdsaKey _key;

    private SimClientCertificate(byte[][] chain, byte[] pkcs8)
    {
        _chain = chain;
        _key = new(pkcs8);
    }

    /// <summary>The subject CN of the certificate: the device it speaks for.</summary>
    public string CommonName { get; private init; } = "";

    public static SimClientCertificate Load(string certificatePath, string keyPath)
    {
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(certificatePath);
        if (chain.Count == 0)
        {
            throw new ArgumentException($"--certificate: '{certificatePath}' holds no PEM certificate");
        }
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(File.ReadAllText(keyPath));
        var name = chain[0].GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        var der = chain.Select(c => c.RawData).ToArray();
        return new SimClientCertificate(der, ecdsa.ExportPkcs8PrivateKey()) { CommonName = name };
    }

    /// <summary>CertificateVerify's signer: ECDSA with SHA-256, signed by .NET with this thread's copy of the key.</summary>
    public TlsCredentialedSigner Signer(TlsContext context, BcTlsCrypto crypto) =>
        new NHub.Gateway.Transport.Dtls.DotNetEcdsaSigner(() => _key.Current, new Certificate([.. _chain.Select(der => (TlsCertificate)new BcTlsCertificate(crypto, der))]),
            SignatureAndHashAlgorithm.GetInstance(Org.BouncyCastle.Tls.HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));

}

/// <summary>
/// A device's DTLS 1.2 ECDHE-ECDSA client with an X.509 certificate: BouncyCastle's <see cref="DefaultTlsClient"/>,
/// DTLS 1.2 only, the configured suites, a bounded handshake. It does not check the server's certificate (a load
/// generator measures the server, it does not trust it). Offers <paramref name="resume"/> for resumption.
/// </summary>
internal sealed class SimCertificateClient(BcTlsCrypto crypto, SimClientCertificate certificate, int[] suites, int handshakeTimeoutMillis,
    byte[]? offeredConnectionId, TlsSession? resume) : DefaultTlsClient(crypto)
{
    public byte[]? ServerConnectionId { get; private set; }

    /// <summary>The session's records from here on (BouncyCastle's own record layer is not used after the handshake).</summary>
    public ClientRecordLayer? RecordLayer { get; private set; }

    /// <summary>This handshake's session (to offer next time) and whether it resumed one.</summary>
    public TlsSession? Session { get; private set; }

    public bool Resumed { get; private set; }

    public override TlsSession? GetSessionToResume() => resume;

    public override IDictionary<int, byte[]> GetClientExtensions() => ClientConnectionId.Offer(base.GetClientExtensions(), offeredConnectionId);

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        ServerConnectionId = ClientConnectionId.Chosen(m_context.SecurityParameters);
        RecordLayer = ClientRecordLayer.From(m_context.SecurityParameters);
        Session = m_context.Session;
        Resumed = m_context.SecurityParameters.IsResumedSession;
    }

    public override int GetHandshakeTimeoutMillis() => handshakeTimeoutMillis;

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, suites);

    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    private TlsCredentials ClientCredentials() => certificate.Signer(m_context, (BcTlsCrypto)Crypto);

    private sealed class Authentication(SimCertificateClient client) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
        }

        public TlsCredentials GetClientCredentials(Org.BouncyCastle.Tls.CertificateRequest certificateRequest) => client.ClientCredentials();
    }
}
