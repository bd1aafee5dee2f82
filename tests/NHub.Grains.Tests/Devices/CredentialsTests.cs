using System.Text;
using NHub.Grains.Services;
using Orleans.Streams;

namespace NHub.Grains.Tests.Devices;

/// <summary>
/// DeviceGrain.Credentials and the PSK identity index: one active credential per device, keys shown once and never
/// listed, revocation pushed to every gateway, rotation as revoke then issue.
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class CredentialsTests(GrainsClusterFixture cluster)
{
    private Task<PskLookup?> LookupAsync(string identity) => cluster.Grains.GetGrain<IPskIdentityGrain>(identity).Lookup();

    [Fact]
    public async Task An_ascii_credential_resolves_by_identity_to_the_ascii_bytes_of_the_issued_key()
    {
        var device = await cluster.ProvisionAsync("cred-ascii");
        var issued = await device.IssueCredential(PskFormat.Ascii);

        Assert.Equal(IssueOutcome.Issued, issued.Outcome);
        var credential = issued.Credential!;
        Assert.Equal("koru-cred-ascii", credential.Summary.PskIdentity);
        Assert.Equal(PskFormat.Ascii, credential.Summary.PskFormat);
        Assert.Equal(CredentialStatus.Active, credential.Summary.Status);
        Assert.Matches("^[0-9a-f]{64}$", credential.PskKey);
        var lookup = await LookupAsync("koru-cred-ascii");
        Assert.Equal("cred-ascii", lookup!.DeviceId);
        Assert.Equal(credential.Summary.Id, lookup.CredentialId);
        Assert.Equal(CredentialStatus.Active, lookup.Status);
        Assert.Equal(Encoding.ASCII.GetBytes(credential.PskKey), lookup.Key);
    }

    [Fact]
    public async Task A_binary_credential_resolves_to_the_32_decoded_bytes()
    {
        var device = await cluster.ProvisionAsync("cred-binary");
        var credential = (await device.IssueCredential(PskFormat.Binary)).Credential!;

        var lookup = await LookupAsync(credential.Summary.PskIdentity);
        Assert.Equal(32, lookup!.Key.Length);
        Assert.Equal(Convert.FromHexString(credential.PskKey), lookup.Key);
    }

    [Fact]
    public async Task Credentials_are_listed_without_their_keys_and_a_second_active_one_is_refused()
    {
        var device = await cluster.ProvisionAsync("cred-list");
        var credential = (await device.IssueCredential(PskFormat.Ascii)).Credential!;

        var listed = Assert.Single((await device.ListCredentials())!);
        Assert.Equal(credential.Summary, listed);
        Assert.DoesNotContain(credential.PskKey, listed.ToString(), StringComparison.Ordinal);
        Assert.Equal(credential.Summary, Assert.Single((await device.GetTwin())!.Credentials));

        var second = await device.IssueCredential(PskFormat.Binary);
        Assert.Equal(IssueOutcome.ActiveCredentialExists, second.Outcome);
        Assert.Null(second.Credential);
        Assert.Single((await device.ListCredentials())!);
        Assert.Equal(Encoding.ASCII.GetBytes(credential.PskKey), (await LookupAsync(credential.Summary.PskIdentity))!.Key);
    }

    [Fact]
    public async Task A_revoked_credential_is_pushed_to_gateways_and_its_identity_then_resolves_to_revoked_without_a_key()
    {
        var device = await cluster.ProvisionAsync("cred-revoke");
        var credential = (await device.IssueCredential(PskFormat.Ascii)).Credential!;
        var revokedAt = cluster.Time.GetUtcNow();

        var pushed = new TaskCompletionSource<CredentialRevoked>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = await cluster.Client.GetStreamProvider(PlatformStreams.ProviderName)
            .GetStream<CredentialRevoked>(StreamId.Create(PlatformStreams.CredentialRevocations, Guid.Empty))
            .SubscribeAsync((e, _) =>
            {
                if (e.DeviceId == "cred-revoke")
                {
                    pushed.TrySetResult(e);
                }
                return Task.CompletedTask;
            });
        try
        {
            Assert.True(await device.RevokeCredential(credential.Summary.Id));
            var revocation = await cluster.AdvanceUntilAsync(pushed.Task);
            Assert.Equal("koru-cred-revoke", revocation.PskIdentity);
            Assert.Equal(revokedAt, revocation.RevokedAt);
        }
        finally
        {
            await handle.UnsubscribeAsync();
        }

        var lookup = await LookupAsync("koru-cred-revoke");
        Assert.Equal(CredentialStatus.Revoked, lookup!.Status);
        Assert.Empty(lookup.Key);
        var listed = Assert.Single((await device.ListCredentials())!);
        Assert.Equal(CredentialStatus.Revoked, listed.Status);
        Assert.Equal(revokedAt, listed.RevokedAt);

        // Revoking again succeeds and changes nothing: one event, the first revocation time.
        Assert.True(await device.RevokeCredential(credential.Summary.Id));
        Assert.Equal(revokedAt, Assert.Single((await device.ListCredentials())!).RevokedAt);
        var e = Assert.Single(cluster.Events.Of("cred-revoke"), e => e.Type == DeviceEventTypes.CredentialRevoked);
        Assert.Equal(credential.Summary.Id, e.Data!["credential_id"]);
        Assert.False(await device.RevokeCredential(Guid.NewGuid()));
    }

    [Fact]
    public async Task Rotation_is_revoke_then_issue_and_the_identity_then_resolves_to_the_new_key_only()
    {
        var device = await cluster.ProvisionAsync("cred-rotate");
        var old = (await device.IssueCredential(PskFormat.Ascii)).Credential!;
        Assert.True(await device.RevokeCredential(old.Summary.Id));

        var rotated = await device.IssueCredential(PskFormat.Binary);
        Assert.Equal(IssueOutcome.Issued, rotated.Outcome);
        var fresh = rotated.Credential!;
        Assert.Equal(old.Summary.PskIdentity, fresh.Summary.PskIdentity);
        Assert.NotEqual(old.Summary.Id, fresh.Summary.Id);
        Assert.NotEqual(old.PskKey, fresh.PskKey);

        var lookup = await LookupAsync(fresh.Summary.PskIdentity);
        Assert.Equal(fresh.Summary.Id, lookup!.CredentialId);
        Assert.Equal(CredentialStatus.Active, lookup.Status);
        Assert.Equal(Convert.FromHexString(fresh.PskKey), lookup.Key);
        var listed = (await device.ListCredentials())!;
        Assert.Equal(2, listed.Count);
        Assert.Equal(CredentialStatus.Revoked, listed.Single(c => c.Id == old.Summary.Id).Status);
        Assert.Equal(CredentialStatus.Active, listed.Single(c => c.Id == fresh.Summary.Id).Status);
    }

    [Fact]
    public async Task An_unknown_device_gets_no_credential_and_an_unknown_identity_resolves_to_nothing()
    {
        var nobody = cluster.Grains.GetGrain<IDeviceGrain>("cred-nobody");
        Assert.Equal(IssueOutcome.UnknownDevice, (await nobody.IssueCredential(PskFormat.Ascii)).Outcome);
        Assert.Null(await nobody.ListCredentials());
        Assert.Null(await LookupAsync("koru-cred-nobody"));
    }

    [Fact]
    public async Task Deleting_a_device_revokes_its_credential_so_its_identity_no_longer_resolves_to_a_key()
    {
        var device = await cluster.ProvisionAsync("cred-delete");
        var credential = (await device.IssueCredential(PskFormat.Ascii)).Credential!;

        Assert.True(await device.Delete());

        var lookup = await LookupAsync(credential.Summary.PskIdentity);
        Assert.True(lookup is null || (lookup.Status == CredentialStatus.Revoked && lookup.Key.Length == 0),
            $"a deleted device's identity still resolves: {lookup}");
        Assert.Equal([DeviceEventTypes.CredentialRevoked, DeviceEventTypes.Deleted], cluster.Events.TypesOf("cred-delete"));
        Assert.Null(await device.GetTwin());
    }
}
