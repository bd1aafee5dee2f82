using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Security;
using NHub.Gateway.Tests.Support;
using NHub.Grains;
using NHub.Testing;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.Gateway.Tests.Security;

/// <summary>Whose certificate or raw key is it: the decisions of <see cref="DeviceCertificateAuthenticator"/>, without sockets.</summary>
public sealed class DeviceCertificateAuthenticatorTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly InMemoryPskSource _source = new();
    private readonly InMemoryCertificateDirectory _directory;
    private readonly CredentialCache _cache;
    private readonly DeviceCertificateAuthenticator _authenticator;
    private readonly TestCertificate _authority = TestCertificates.Authority();

    public DeviceCertificateAuthenticatorTests()
    {
        _directory = new InMemoryCertificateDirectory(_source);
        var options = new CredentialCacheOptions { TrustAnchorRefresh = TimeSpan.FromSeconds(10) };
        _cache = new CredentialCache(_source, options, _time);
        _authenticator = new DeviceCertificateAuthenticator(_cache, new TrustAnchorCache(_directory, options, _time, NullLogger<TrustAnchorCache>.Instance), _directory, _time);
    }

    public void Dispose() => _authority.Dispose();

    [Fact]
    public async Task A_certificate_of_a_registered_authority_naming_an_existing_device_is_enrolled_once_and_then_found()
    {
        _directory.Trust(_authority.Der);
        _directory.AddDevice("meter-1");
        using var device = TestCertificates.Device("meter-1", _authority);

        var first = _authenticator.AuthenticateCertificate([device.Der], default);
        Assert.True(first.Succeeded, first.Detail);
        Assert.Equal("meter-1", first.DeviceId);
        Assert.Equal(CredentialIdentities.ForCertificate(device.Der), first.Identity);
        // Not recorded before the handshake proved the key (a certificate travels in clear): the transport enrolls after.
        Assert.NotNull(first.Enrollment);
        Assert.Empty(_directory.Enrollments);
        Assert.True(_authenticator.Enroll(first, default).Succeeded);
        var (deviceId, facts) = Assert.Single(_directory.Enrollments);
        Assert.Equal("meter-1", deviceId);
        Assert.Equal(CredentialAuthTypes.X509, facts.AuthType);
        Assert.Equal(CredentialIdentities.Fingerprint(device.Der), facts.Fingerprint);
        Assert.Equal("CN=meter-1", facts.Subject);

        // The lookup that found nothing was forgotten: the device's requests resolve the identity to the device.
        var resolved = await _cache.GetAsync(first.Identity!);
        Assert.Equal("meter-1", resolved?.DeviceId);

        var second = _authenticator.AuthenticateCertificate([device.Der], default);
        Assert.True(second.Succeeded, second.Detail);
        Assert.Null(second.Enrollment);
        Assert.Single(_directory.Enrollments);
    }

    [Fact]
    public void A_pinned_certificate_needs_no_authority_but_must_be_valid_now()
    {
        using var device = TestCertificates.Device("meter-2", notAfter: _time.GetUtcNow().AddDays(2));
        _source.AddKey(CredentialIdentities.ForCertificate(device.Der), "meter-2", CredentialAuthTypes.X509, pinned: true);

        var accepted = _authenticator.AuthenticateCertificate([device.Der], default);
        Assert.True(accepted.Succeeded, accepted.Detail);
        Assert.Equal("meter-2", accepted.DeviceId);
        Assert.Equal(0, _directory.AnchorFetches);

        _time.Advance(TimeSpan.FromDays(3));
        Assert.Equal(CertificateRejection.Expired, _authenticator.AuthenticateCertificate([device.Der], default).Rejection);
    }

    [Fact]
    public void Certificates_outside_their_validity_are_refused_before_any_lookup()
    {
        _directory.Trust(_authority.Der);
        _directory.AddDevice("meter-3");
        var now = _time.GetUtcNow();
        using var expired = TestCertificates.Device("meter-3", _authority, notBefore: now.AddDays(-10), notAfter: now.AddDays(-1));
        using var early = TestCertificates.Device("meter-3", _authority, notBefore: now.AddDays(1), notAfter: now.AddDays(10));

        var a = _authenticator.AuthenticateCertificate([expired.Der], default);
        var b = _authenticator.AuthenticateCertificate([early.Der], default);

        Assert.Equal((CertificateRejection.Expired, "certificate_expired"), (a.Rejection, a.Reason));
        Assert.Equal((CertificateRejection.NotYetValid, "certificate_not_yet_valid"), (b.Rejection, b.Reason));
        Assert.Equal(0, _source.Lookups);
        Assert.Empty(_directory.Enrollments);
    }

    [Fact]
    public void Without_a_chain_to_a_registered_authority_a_certificate_is_an_unknown_ca()
    {
        using var selfSigned = TestCertificates.Device("meter-4");
        Assert.Equal(CertificateRejection.UnknownAuthority, _authenticator.AuthenticateCertificate([selfSigned.Der], default).Rejection);

        using var other = TestCertificates.Authority("Someone Else's CA");
        using var foreign = TestCertificates.Device("meter-4", other);
        _directory.Trust(_authority.Der);
        _time.Advance(TimeSpan.FromSeconds(11)); // past the refresh: the new authority is seen
        var result = _authenticator.AuthenticateCertificate([foreign.Der], default);
        Assert.Equal((CertificateRejection.UnknownAuthority, "unknown_ca"), (result.Rejection, result.Reason));
        Assert.Empty(_directory.Enrollments);
    }

    [Fact]
    public void An_intermediate_sent_by_the_device_completes_the_chain_to_the_registered_root()
    {
        using var intermediate = TestCertificates.Authority("Factory Line 7", issuer: _authority);
        using var device = TestCertificates.Device("meter-5", intermediate);
        _directory.Trust(_authority.Der);
        _directory.AddDevice("meter-5");

        Assert.Equal(CertificateRejection.UnknownAuthority, _authenticator.AuthenticateCertificate([device.Der], default).Rejection);
        var chained = _authenticator.AuthenticateCertificate([device.Der, intermediate.Der], default);
        Assert.True(chained.Succeeded, chained.Detail);
        Assert.Equal("meter-5", chained.DeviceId);
    }

    [Fact]
    public void A_certificate_for_servers_only_or_naming_no_device_or_an_unknown_one_is_refused_with_its_reason()
    {
        _directory.Trust(_authority.Der);
        _directory.AddDevice("meter-6");
        using var serverOnly = TestCertificates.Device("meter-6", _authority, serverUsageOnly: true);
        using var noDevice = TestCertificates.Device("Meter Six", _authority);
        using var unknown = TestCertificates.Device("meter-nobody", _authority);

        Assert.Equal(CertificateRejection.BadChain, _authenticator.AuthenticateCertificate([serverOnly.Der], default).Rejection);
        Assert.Equal(CertificateRejection.NoDeviceId, _authenticator.AuthenticateCertificate([noDevice.Der], default).Rejection);
        var result = _authenticator.Enroll(_authenticator.AuthenticateCertificate([unknown.Der], default), default);
        Assert.Equal((CertificateRejection.UnknownDevice, "unknown_device"), (result.Rejection, result.Reason));
        Assert.Equal("meter-nobody", Assert.Single(_directory.Enrollments).DeviceId);
    }

    [Fact]
    public void A_revoked_certificate_stays_refused_though_its_authority_still_vouches_for_it()
    {
        _directory.Trust(_authority.Der);
        using var device = TestCertificates.Device("meter-7", _authority);
        var identity = CredentialIdentities.ForCertificate(device.Der);
        _source.AddKey(identity, "meter-7", CredentialAuthTypes.X509, pinned: false, PskCredentialStatus.Revoked);

        var result = _authenticator.AuthenticateCertificate([device.Der], default);

        Assert.Equal((CertificateRejection.Revoked, "revoked"), (result.Rejection, result.Reason));
        Assert.Empty(_directory.Enrollments);
    }

    [Fact]
    public void An_enrolled_certificate_is_refused_once_its_authority_is_removed()
    {
        _directory.Trust(_authority.Der);
        _directory.AddDevice("meter-8");
        using var device = TestCertificates.Device("meter-8", _authority);
        Assert.True(_authenticator.Enroll(_authenticator.AuthenticateCertificate([device.Der], default), default).Succeeded);

        _directory.Distrust(_authority.Der);
        Assert.True(_authenticator.AuthenticateCertificate([device.Der], default).Succeeded); // the list is cached for TrustAnchorRefresh
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(CertificateRejection.UnknownAuthority, _authenticator.AuthenticateCertificate([device.Der], default).Rejection);
    }

    [Fact]
    public void A_raw_public_key_authenticates_the_device_that_registered_it_and_nothing_else()
    {
        using var key = TestCertificates.RawKey();
        using var stranger = TestCertificates.RawKey();
        var identity = CredentialIdentities.ForPublicKey(key.SubjectPublicKeyInfo);
        _source.AddKey(identity, "sensor-1", CredentialAuthTypes.Rpk, pinned: true);

        var accepted = _authenticator.AuthenticatePublicKey(key.SubjectPublicKeyInfo, default);
        Assert.True(accepted.Succeeded, accepted.Detail);
        Assert.Equal(("sensor-1", identity), (accepted.DeviceId, accepted.Identity));

        Assert.Equal(CertificateRejection.UnknownKey, _authenticator.AuthenticatePublicKey(stranger.SubjectPublicKeyInfo, default).Rejection);
        // A certificate's name is not a raw key's, even for the same key.
        _source.AddKey(CredentialIdentities.ForPublicKey(stranger.SubjectPublicKeyInfo), "sensor-2", CredentialAuthTypes.X509, pinned: true);
        Assert.Equal(CertificateRejection.UnknownKey, _authenticator.AuthenticatePublicKey(stranger.SubjectPublicKeyInfo, default).Rejection);

        _source.Revoke(identity);
        _cache.Invalidate(identity); // what the revocation push does
        Assert.Equal(CertificateRejection.Revoked, _authenticator.AuthenticatePublicKey(key.SubjectPublicKeyInfo, default).Rejection);
    }

    [Fact]
    public void Garbage_in_the_certificate_message_is_a_bad_certificate_and_an_empty_one_asks_for_one()
    {
        Assert.Equal(CertificateRejection.Malformed, _authenticator.AuthenticateCertificate([[0x30, 0x03, 0x02, 0x01, 0x00]], default).Rejection);
        Assert.Equal(CertificateRejection.NoCertificate, _authenticator.AuthenticateCertificate([], default).Rejection);
    }

    [Fact]
    public void The_device_is_the_last_common_name_in_the_subject()
    {
        // The builder encodes RDNs in the reverse of the order they are added (checked with openssl asn1parse), so the
        // DER subject below is CN=meter-first, O=Factory, CN=meter-last: the last, most specific, CN names the device.
        var name = new System.Security.Cryptography.X509Certificates.X500DistinguishedNameBuilder();
        name.AddCommonName("meter-last");
        name.AddOrganizationName("Factory");
        name.AddCommonName("meter-first");
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(name.Build(), key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        Assert.Equal("meter-last", CredentialIdentities.DeviceIdOf(certificate));
    }
}
