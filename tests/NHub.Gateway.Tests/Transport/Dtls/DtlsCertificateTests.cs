using System.Text;
using NHub.Gateway.Security;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport.Dtls;
using NHub.Grains;
using NHub.Testing;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>
/// ECDHE-ECDSA handshakes on loopback against BouncyCastle's client: a device certificate or raw public key
/// (RFC 7250) authenticates the device, the gateway presents its own, and a refused certificate gets its alert.
/// </summary>
public sealed class DtlsCertificateTests : IDisposable
{
    private readonly TestCertificate _authority = TestCertificates.Authority();

    public void Dispose() => _authority.Dispose();

    public static TheoryData<string> Suites => [DtlsCipherSuites.EcdsaCcm8, DtlsCipherSuites.EcdsaGcm];

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task A_device_certificate_of_a_registered_authority_opens_a_session_whose_identity_is_its_fingerprint(string suite)
    {
        await using var server = new DtlsServerHarness(certificates: true);
        server.Certificates.Trust(_authority.Der);
        server.Certificates.AddDevice("meter-1");
        using var device = TestCertificates.Device("meter-1", _authority);
        Assert.True(DtlsCipherSuites.TryParse(suite, out var id));

        using var client = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device, cipherSuites: [id]);
        var answer = client.Exchange(EchoCoapReceiver.Request(0x0101, "reading"u8));

        Assert.Equal(id, client.CertificatePeer.NegotiatedCipherSuite);
        Assert.EndsWith("ok:reading", Encoding.ASCII.GetString(answer!), StringComparison.Ordinal);
        var peer = Assert.Single(server.Receiver.Peers);
        Assert.Equal(CredentialIdentities.ForCertificate(device.Der), peer.Identity);
        // The gateway presented its certificate (self-signed at start: none configured) as X.509.
        Assert.Equal(CertificateType.X509, client.CertificatePeer.ServerCertificate.Type);
        Assert.Equal(server.Transport.ServerCertificateFingerprint, CredentialIdentities.Fingerprint(client.CertificatePeer.ServerCertificate.Der));
        Assert.Equal("meter-1", Assert.Single(server.Certificates.Enrollments).DeviceId);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.handshakes", "result", "success"));
    }

    [Fact]
    public async Task A_raw_public_key_device_is_answered_with_the_gateways_raw_key()
    {
        await using var server = new DtlsServerHarness(certificates: true);
        using var key = TestCertificates.RawKey();
        var identity = CredentialIdentities.ForPublicKey(key.SubjectPublicKeyInfo);
        server.Source.AddKey(identity, "sensor-1", CredentialAuthTypes.Rpk, pinned: true);

        using var client = BcDtlsClient.ConnectWithCertificate(server.EndPoint, key, rawPublicKey: true);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(7)));

        Assert.Equal(identity, Assert.Single(server.Receiver.Peers).Identity);
        Assert.Equal(CertificateType.RawPublicKey, client.CertificatePeer.ServerCertificate.Type);
        // What it got is the SubjectPublicKeyInfo of the key behind the gateway's certificate (RFC 7250 §3).
        Assert.Equal(64, CredentialIdentities.Fingerprint(client.CertificatePeer.ServerCertificate.Der).Length);
        Assert.NotEqual(server.Transport.ServerCertificateFingerprint, CredentialIdentities.Fingerprint(client.CertificatePeer.ServerCertificate.Der));
    }

    [Fact]
    public async Task A_certificate_nobody_vouches_for_gets_unknown_ca_and_leaves_no_session()
    {
        await using var server = new DtlsServerHarness(certificates: true);
        server.Certificates.Trust(_authority.Der);
        server.Certificates.AddDevice("meter-2");
        using var selfSigned = TestCertificates.Device("meter-2");

        var failure = Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.ConnectWithCertificate(server.EndPoint, selfSigned));

        Assert.Equal(AlertDescription.unknown_ca, failure.AlertDescription);
        // Counted after the alert left: wait for it rather than race it.
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes", "result", "unknown_ca") == 1, TimeSpan.FromSeconds(10), "the unknown_ca count");
        Assert.Equal(0, server.Transport.SessionCount);
        Assert.Empty(server.Certificates.Enrollments);
    }

    [Fact]
    public async Task A_revoked_certificate_gets_certificate_revoked_and_closing_its_identity_ends_the_live_session()
    {
        await using var server = new DtlsServerHarness(certificates: true);
        using var device = TestCertificates.Device("meter-3");
        var identity = CredentialIdentities.ForCertificate(device.Der);
        server.Source.AddKey(identity, "meter-3", CredentialAuthTypes.X509, pinned: true);
        using var client = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        var peer = Assert.Single(server.Receiver.Peers);

        // What the revocation push does on every gateway: the credential is forgotten and its sessions are closed.
        server.Source.Revoke(identity);
        server.Cache.Invalidate(identity);
        Assert.Equal(1, server.Transport.CloseSessions(identity));
        await server.Receiver.Closed(peer).WaitAsync(TimeSpan.FromSeconds(10));

        var failure = Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.ConnectWithCertificate(server.EndPoint, device));
        Assert.Equal(AlertDescription.certificate_revoked, failure.AlertDescription);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes", "result", "revoked") == 1, TimeSpan.FromSeconds(10), "the revoked count");
    }

    [Fact]
    public async Task Without_certificate_support_only_psk_suites_are_offered_and_psk_still_works_beside_certificates()
    {
        await using (var pskOnly = new DtlsServerHarness())
        {
            using var device = TestCertificates.Device("meter-4");
            Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.ConnectWithCertificate(pskOnly.EndPoint, device));
            Assert.Null(pskOnly.Transport.ServerCertificateFingerprint);
        }
        await using var both = new DtlsServerHarness(certificates: true);
        using var psk = BcDtlsClient.Connect(both.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(psk.Exchange(EchoCoapReceiver.Request(2)));
        Assert.Equal(DtlsServerHarness.Identity, Assert.Single(both.Receiver.Peers).Identity);
    }

    [Fact]
    public async Task The_configured_certificate_is_presented_and_a_key_that_is_not_its_own_stops_the_host_with_the_key_named()
    {
        var directory = Directory.CreateTempSubdirectory("nhub-gateway-cert-");
        try
        {
            using var gateway = TestCertificates.Device("gateway.example", _authority);
            using var other = TestCertificates.Device("other");
            var (certificatePath, keyPath) = gateway.WritePem(directory.FullName, "gateway", _authority);
            var (_, otherKey) = other.WritePem(directory.FullName, "other");

            var wrong = new DtlsOptions { Certificate = { Path = certificatePath, KeyPath = otherKey } };
            var error = Assert.Single(wrong.Validate(new(wrong)));
            Assert.StartsWith("Gateway:Dtls:Certificate:Path/KeyPath: ", error.ErrorMessage, StringComparison.Ordinal);
            var half = new DtlsOptions { Certificate = { Path = certificatePath } };
            Assert.Contains("must be set together", Assert.Single(half.Validate(new(half))).ErrorMessage, StringComparison.Ordinal);

            await using var server = new DtlsServerHarness(o => o.Certificate = new() { Path = certificatePath, KeyPath = keyPath }, certificates: true);
            server.Source.AddKey(CredentialIdentities.ForCertificate(other.Der), "other", CredentialAuthTypes.X509, pinned: true);
            using var client = BcDtlsClient.ConnectWithCertificate(server.EndPoint, other);
            Assert.Equal(gateway.Der, client.CertificatePeer.ServerCertificate.Der);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_certificate_session_is_resumed_without_signatures_until_its_credential_is_revoked()
    {
        await using var server = new DtlsServerHarness(certificates: true);
        using var device = TestCertificates.Device("meter-5");
        var identity = CredentialIdentities.ForCertificate(device.Der);
        server.Source.AddKey(identity, "meter-5", CredentialAuthTypes.X509, pinned: true);

        TlsSession session;
        using (var first = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device))
        {
            Assert.NotNull(first.Exchange(EchoCoapReceiver.Request(1)));
            Assert.False(first.CertificatePeer.Resumed);
            session = first.CertificatePeer.Session!;
            first.Session.Close();
        }
        for (var i = 0; i < 2; i++)
        {
            using var again = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device, resume: session);
            Assert.True(again.CertificatePeer.Resumed, "the abbreviated handshake was not used");
            Assert.NotNull(again.Exchange(EchoCoapReceiver.Request((ushort)(2 + i))));
            again.Session.Close();
        }
        Assert.All(server.Receiver.SeenPeers, p => Assert.Equal(identity, p.Identity));
        Assert.Equal(2, server.Meters.Total("nhub.dtls.handshakes", "resumed", "true"));

        // Revoked: the resumption authenticates the stored certificate again, falls back to a full handshake, and that is refused.
        server.Source.Revoke(identity);
        server.Cache.Invalidate(identity);
        var failure = Assert.Throws<TlsFatalAlertReceived>(() => BcDtlsClient.ConnectWithCertificate(server.EndPoint, device, resume: session));
        Assert.Equal(AlertDescription.certificate_revoked, failure.AlertDescription);
        Assert.Equal(2, server.Meters.Total("nhub.dtls.handshakes", "resumed", "true"));
    }

    [Fact]
    public async Task Psk_sessions_and_a_gateway_with_resumption_off_do_full_handshakes()
    {
        await using var server = new DtlsServerHarness(o => o.ResumptionCacheSize = 0, certificates: true);
        using var device = TestCertificates.Device("meter-6");
        server.Source.AddKey(CredentialIdentities.ForCertificate(device.Der), "meter-6", CredentialAuthTypes.X509, pinned: true);
        using (var first = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device))
        {
            Assert.NotNull(first.Exchange(EchoCoapReceiver.Request(1)));
            using var second = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device, resume: first.CertificatePeer.Session);
            Assert.False(second.CertificatePeer.Resumed);
            Assert.NotNull(second.Exchange(EchoCoapReceiver.Request(2))); // answered: the server counted its handshake
        }
        Assert.Equal(0, server.Meters.Total("nhub.dtls.handshakes", "resumed", "true"));
        Assert.Equal(2, server.Meters.Total("nhub.dtls.handshakes", "auth", "x509"));
    }

    [Fact]
    public async Task A_resumption_keeps_the_sessions_suite_and_gets_a_fresh_connection_id()
    {
        await using var server = new DtlsServerHarness(certificates: true);
        using var device = TestCertificates.Device("meter-7");
        server.Source.AddKey(CredentialIdentities.ForCertificate(device.Der), "meter-7", CredentialAuthTypes.X509, pinned: true);

        using var first = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device, cipherSuites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256], connectionId: []);
        Assert.NotNull(first.Exchange(EchoCoapReceiver.Request(1)));
        var firstCid = first.CertificatePeer.ServerConnectionId;
        Assert.NotNull(firstCid);

        // Offering CCM_8 first (the server's own first choice): a resumption must still come back with the session's GCM
        // (RFC 5246 §7.4.1.3), and with a CID of its own (RFC 9146 §3), not the one the first session still holds.
        using var again = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device, resume: first.CertificatePeer.Session,
            cipherSuites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256], connectionId: []);
        Assert.True(again.CertificatePeer.Resumed);
        Assert.Equal(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, again.CertificatePeer.NegotiatedCipherSuite);
        Assert.NotNull(again.CertificatePeer.ServerConnectionId);
        Assert.NotEqual(firstCid, again.CertificatePeer.ServerConnectionId);
        Assert.NotNull(again.Exchange(EchoCoapReceiver.Request(2)));
        Assert.NotNull(first.Exchange(EchoCoapReceiver.Request(3))); // both sessions live side by side
        Assert.Equal(2, server.Transport.SessionCount);

        // Without the connection_id extension this time: the stored one must not come back either.
        using var plain = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device, resume: first.CertificatePeer.Session,
            cipherSuites: [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]);
        Assert.True(plain.CertificatePeer.Resumed);
        Assert.Null(plain.CertificatePeer.ServerConnectionId);
        Assert.NotNull(plain.Exchange(EchoCoapReceiver.Request(4)));
    }

    [Fact]
    public async Task A_certificate_naming_an_unknown_device_is_refused_after_it_proved_its_key_with_access_denied_and_nothing_enrolled()
    {
        await using var server = new DtlsServerHarness(certificates: true);
        server.Certificates.Trust(_authority.Der);
        using var device = TestCertificates.Device("meter-unknown", _authority);

        // The refusal comes after the client's CertificateVerify, with our Finished: the client may complete its side
        // and then read the alert, so it surfaces at the handshake or at the first exchange.
        var failure = Assert.Throws<TlsFatalAlertReceived>(() =>
        {
            using var client = BcDtlsClient.ConnectWithCertificate(server.EndPoint, device);
            client.Exchange(EchoCoapReceiver.Request(1));
        });

        Assert.Equal(AlertDescription.access_denied, failure.AlertDescription);
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.handshakes", "result", "unknown_device") == 1, TimeSpan.FromSeconds(10), "the unknown_device count");
        Assert.Equal("meter-unknown", Assert.Single(server.Certificates.Enrollments).DeviceId); // asked once, after CertificateVerify
        Assert.Equal(0, server.Transport.SessionCount);
    }
}
