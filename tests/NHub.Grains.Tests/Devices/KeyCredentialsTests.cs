using NHub.Grains.Services;

namespace NHub.Grains.Tests.Devices;

/// <summary>
/// Certificates and raw public keys on the twin: registered (pinned) or enrolled by a gateway, several per device and
/// beside a PSK, indexed by their fingerprint names, refused twice or across devices, revoked like a PSK.
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class KeyCredentialsTests(GrainsClusterFixture cluster)
{
    private static KeyCredentialFacts Certificate(string seed) =>
        new(CredentialAuthTypes.X509, CredentialAuthTypes.X509 + ":" + Hex(seed), Hex(seed), "CN=" + seed, DateTimeOffset.UtcNow.AddDays(30));

    private static KeyCredentialFacts RawKey(string seed) => new(CredentialAuthTypes.Rpk, "rpk:" + Hex(seed), Hex(seed), null, null);

    private static string Hex(string seed) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed)));

    [Fact]
    public async Task A_pinned_certificate_and_a_raw_key_sit_beside_a_psk_and_resolve_to_the_device_without_a_key()
    {
        var device = await cluster.ProvisionAsync("key-both");
        Assert.Equal(IssueOutcome.Issued, (await device.IssueCredential(PskFormat.Ascii)).Outcome);
        var certificate = Certificate("key-both-cert");
        var rawKey = RawKey("key-both-rpk");

        var pinned = await device.RegisterKeyCredential(certificate);
        var raw = await device.RegisterKeyCredential(rawKey);

        Assert.Equal((IssueOutcome.Issued, IssueOutcome.Issued), (pinned.Outcome, raw.Outcome));
        Assert.Equal(CredentialSource.Pinned, pinned.Credential!.Summary.Source);
        Assert.Equal(certificate.Fingerprint, pinned.Credential.Summary.Fingerprint);
        Assert.Equal("", pinned.Credential.PskKey);
        var lookup = await cluster.Grains.GetGrain<IPskIdentityGrain>(certificate.Identity).Lookup();
        Assert.Equal(("key-both", CredentialAuthTypes.X509, true, CredentialStatus.Active), (lookup!.DeviceId, lookup.AuthType, lookup.Pinned, lookup.Status));
        Assert.Empty(lookup.Key);
        var rpk = await cluster.Grains.GetGrain<IPskIdentityGrain>(rawKey.Identity).Lookup();
        Assert.Equal(CredentialAuthTypes.Rpk, rpk!.AuthType);
        Assert.Equal(3, (await device.ListCredentials())!.Count);
        Assert.Equal(2, cluster.Events.Of("key-both").Count(e => e.Type == DeviceEventTypes.CredentialAdded));
        // A second PSK is still refused: only the PSK is one per device.
        Assert.Equal(IssueOutcome.ActiveCredentialExists, (await device.IssueCredential(PskFormat.Ascii)).Outcome);
    }

    [Fact]
    public async Task The_same_key_is_refused_twice_on_a_device_and_on_another_one()
    {
        var first = await cluster.ProvisionAsync("key-dup-1");
        var second = await cluster.ProvisionAsync("key-dup-2");
        var certificate = Certificate("key-dup");
        Assert.Equal(IssueOutcome.Issued, (await first.RegisterKeyCredential(certificate)).Outcome);

        Assert.Equal(IssueOutcome.DuplicateCredential, (await first.RegisterKeyCredential(certificate)).Outcome);
        Assert.Equal(IssueOutcome.BoundToAnotherDevice, (await second.RegisterKeyCredential(certificate)).Outcome);
        Assert.Empty((await second.ListCredentials())!);
        Assert.Equal(IssueOutcome.UnknownDevice, (await cluster.Grains.GetGrain<IDeviceGrain>("key-nobody").RegisterKeyCredential(RawKey("x"))).Outcome);
    }

    [Fact]
    public async Task A_gateway_enrolls_a_certificate_once_and_after_its_revocation_the_same_certificate_stays_refused()
    {
        var device = await cluster.ProvisionAsync("key-enroll");
        var certificate = Certificate("key-enroll-cert");

        Assert.Equal(EnrollOutcome.Enrolled, await device.EnrollCertificate(certificate));
        Assert.Equal(EnrollOutcome.Enrolled, await device.EnrollCertificate(certificate));
        var listed = Assert.Single((await device.ListCredentials())!);
        Assert.Equal((CredentialAuthTypes.X509, CredentialSource.CertificateAuthority, "CN=key-enroll-cert"), (listed.AuthType, listed.Source, listed.Subject));
        var lookup = await cluster.Grains.GetGrain<IPskIdentityGrain>(certificate.Identity).Lookup();
        Assert.False(lookup!.Pinned);

        Assert.True(await device.RevokeCredential(listed.Id));
        Assert.Equal(EnrollOutcome.Revoked, await device.EnrollCertificate(certificate));
        Assert.Equal(CredentialStatus.Revoked, (await cluster.Grains.GetGrain<IPskIdentityGrain>(certificate.Identity).Lookup())!.Status);
        Assert.Equal(EnrollOutcome.UnknownDevice, await cluster.Grains.GetGrain<IDeviceGrain>("key-enroll-nobody").EnrollCertificate(Certificate("y")));
        var other = await cluster.ProvisionAsync("key-enroll-other");
        Assert.Equal(EnrollOutcome.Enrolled, await other.EnrollCertificate(Certificate("z")));
        Assert.Equal(EnrollOutcome.BoundToAnotherDevice, await device.EnrollCertificate(Certificate("z")));
    }

    [Fact]
    public async Task A_revoked_key_stays_refused_on_another_device_and_after_its_device_is_deleted_and_made_again()
    {
        var device = await cluster.ProvisionAsync("key-gone");
        var certificate = Certificate("key-gone-cert");
        var rawKey = RawKey("key-gone-rpk");
        Assert.Equal(EnrollOutcome.Enrolled, await device.EnrollCertificate(certificate));
        var pinned = (await device.RegisterKeyCredential(rawKey)).Credential!;

        Assert.True(await device.RevokeCredential(pinned.Summary.Id));
        var other = await cluster.ProvisionAsync("key-gone-other");
        Assert.Equal(IssueOutcome.RevokedCredential, (await other.RegisterKeyCredential(rawKey)).Outcome);

        // Replacement hardware under the same id: a stolen certificate of the old one must not enroll again.
        Assert.True(await device.Delete());
        var again = await cluster.ProvisionAsync("key-gone");
        Assert.Equal(EnrollOutcome.Revoked, await again.EnrollCertificate(certificate));
        Assert.Empty((await again.ListCredentials())!);
        Assert.Equal(IssueOutcome.RevokedCredential, (await again.RegisterKeyCredential(rawKey)).Outcome);
    }

    [Fact]
    public async Task A_name_that_is_not_a_certificate_or_key_identity_is_refused()
    {
        var device = await cluster.ProvisionAsync("key-bad");
        await Assert.ThrowsAsync<ArgumentException>(() => device.RegisterKeyCredential(new KeyCredentialFacts(CredentialAuthTypes.X509, "koru-key-bad", "00", null, null)));
        await Assert.ThrowsAsync<ArgumentException>(() => device.RegisterKeyCredential(new KeyCredentialFacts(CredentialAuthTypes.Psk, "x509:00", "00", null, null)));
    }

    [Fact]
    public async Task The_registry_of_authorities_refuses_a_duplicate_and_every_change_moves_the_version()
    {
        var registry = cluster.Grains.GetGrain<ICertificateAuthoritiesGrain>(0);
        var before = await registry.GetTrustAnchors();
        var now = DateTimeOffset.UtcNow;
        var added = await registry.Add("fp-registry-test", "CN=Test", now, now.AddYears(1), [1, 2, 3]);
        Assert.NotNull(added);
        Assert.Null(await registry.Add("fp-registry-test", "CN=Test", now, now.AddYears(1), [1, 2, 3]));
        var after = await registry.GetTrustAnchors();
        Assert.True(after.Version > before.Version);
        Assert.Contains(after.Certificates, c => c.SequenceEqual(new byte[] { 1, 2, 3 }));

        Assert.True(await registry.Remove(added!.Id));
        Assert.False(await registry.Remove(added.Id));
        var removed = await registry.GetTrustAnchors();
        Assert.True(removed.Version > after.Version);
        Assert.DoesNotContain(removed.Certificates, c => c.SequenceEqual(new byte[] { 1, 2, 3 }));
    }
}
