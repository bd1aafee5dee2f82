using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using NHub.Grains.Devices;
using NHub.Grains.Services;
using NHub.Grains.Sessions;

namespace NHub.Grains.Tests.Sessions;

/// <summary>
/// DtlsSessionGrain (docs/stateless-gateway.md, "Session store (grain side)"): one owner at a time, disjoint write
/// sequence blocks across takeovers, secrets encrypted at rest, and the device's twin deciding whether a stored
/// session may still be used.
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class DtlsSessionTests(GrainsClusterFixture cluster)
{
    private static readonly Guid GatewayA = Guid.NewGuid();

    private static long s_proof = 1_000_000;

    /// <summary>A proving record's sequence number for a takeover: each newer than anything a test checkpointed.</summary>
    private static long NextProof() => Interlocked.Increment(ref s_proof);
    private static readonly Guid GatewayB = Guid.NewGuid();
    private static readonly Guid GatewayC = Guid.NewGuid();

    private const string StateName = "dtls-session";

    private sealed record StoredSession(IDtlsSessionGrain Grain, DtlsSessionSnapshot Snapshot, string ConnectionId);

    private async Task<(IDeviceGrain Device, CredentialSummary Credential)> DeviceWithCredentialAsync(string deviceId)
    {
        var device = await cluster.ProvisionAsync(deviceId);
        var issued = await device.IssueCredential(PskFormat.Binary);
        return (device, issued.Credential!.Summary);
    }

    private DtlsSessionSnapshot NewSnapshot(string deviceId, string pskIdentity, byte[]? connectionId = null) =>
        new(deviceId, pskIdentity, "dtls:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), 0xC0A8, true,
            RandomNumberGenerator.GetBytes(72), connectionId ?? RandomNumberGenerator.GetBytes(8), [0x01, 0x02], cluster.Time.GetUtcNow());

    private DateTimeOffset InOneHour => cluster.Time.GetUtcNow().AddHours(1);

    private async Task<StoredSession> StoreAsync(string deviceId, string pskIdentity, long limit = 100, Guid? owner = null)
    {
        var snapshot = NewSnapshot(deviceId, pskIdentity);
        var key = Convert.ToHexStringLower(snapshot.ReceiveConnectionId);
        var grain = cluster.Grains.GetGrain<IDtlsSessionGrain>(key);
        Assert.True(await grain.Store(snapshot, owner ?? GatewayA, owner ?? GatewayA, limit, InOneHour));
        return new StoredSession(grain, snapshot, key);
    }

    private Task<DtlsSessionState?> StoredAsync(IDtlsSessionGrain grain) => cluster.ReadStoredStateAsync<DtlsSessionState>(StateName, grain);

    [Fact]
    public async Task A_retried_store_confirms_its_own_record_and_never_writes_a_new_one()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-retry");
        var session = await StoreAsync("dtls-retry", credential.PskIdentity, limit: 100);
        Assert.True(await session.Grain.Store(session.Snapshot, GatewayA, GatewayA, 300, InOneHour, retry: true));
        Assert.Equal(300, (await StoredAsync(session.Grain))!.WriteSequenceLimit);

        // The first attempt never landed, or landed, was taken over and erased since: nothing is written.
        var lost = NewSnapshot("dtls-retry", credential.PskIdentity);
        var grain = cluster.Grains.GetGrain<IDtlsSessionGrain>(Convert.ToHexStringLower(lost.ReceiveConnectionId));
        Assert.False(await grain.Store(lost, GatewayA, GatewayA, 100, InOneHour, retry: true));
        Assert.Null(await StoredAsync(grain));
    }

    [Fact]
    public async Task A_takeover_leases_from_the_previous_limit_so_two_takeovers_in_a_row_get_disjoint_blocks()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-lease");
        var session = await StoreAsync("dtls-lease", credential.PskIdentity, limit: 100);

        var first = await session.Grain.TakeOver(GatewayB, GatewayB, 1000, NextProof(), InOneHour);
        Assert.NotNull(first);
        Assert.Equal((100L, 1100L, GatewayA), (first.WriteSequenceStart, first.WriteSequenceLimit, first.PreviousOwner));
        Assert.Equal(session.Snapshot.Secrets, first.Snapshot.Secrets);
        Assert.Equal(session.Snapshot.SessionKey, first.Snapshot.SessionKey);
        Assert.Equal(session.Snapshot.SendConnectionId, first.Snapshot.SendConnectionId);

        var second = await session.Grain.TakeOver(GatewayC, GatewayC, 500, NextProof(), InOneHour);
        Assert.NotNull(second);
        Assert.Equal((1100L, 1600L, GatewayB), (second.WriteSequenceStart, second.WriteSequenceLimit, second.PreviousOwner));
        // Durable: the stored limit is the end of the last block handed out.
        Assert.Equal(1600, (await StoredAsync(session.Grain))!.WriteSequenceLimit);
    }

    [Fact]
    public async Task After_a_takeover_the_previous_owner_can_no_longer_extend_and_the_limit_never_decreases()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-extend");
        var session = await StoreAsync("dtls-extend", credential.PskIdentity, limit: 100);
        Assert.True(await session.Grain.Extend(GatewayA, 200, new DtlsReplayMark(7, 0b101), InOneHour));

        var proof = NextProof();
        Assert.NotNull(await session.Grain.TakeOver(GatewayB, GatewayB, 1000, proof, InOneHour));
        Assert.False(await session.Grain.Extend(GatewayA, 5000, new DtlsReplayMark(9, 1), InOneHour));

        var mark = new DtlsReplayMark(proof + 40, 0xF0F0);
        Assert.True(await session.Grain.Extend(GatewayB, 3000, mark, InOneHour));
        Assert.True(await session.Grain.Extend(GatewayB, 10, new DtlsReplayMark(proof + 41, 1), InOneHour));
        // A checkpoint older than the stored top (a late one) does not move the top back.
        Assert.True(await session.Grain.Extend(GatewayB, 10, new DtlsReplayMark(proof + 2, 1), InOneHour));
        var next = await session.Grain.TakeOver(GatewayC, GatewayC, 10, proof + 1000, InOneHour);
        Assert.Equal(3000, next!.WriteSequenceStart);
        Assert.Equal(new DtlsReplayMark(proof + 41, 1), next.Replay);
    }

    [Fact]
    public async Task Release_by_the_owner_leaves_the_session_ownerless_with_its_window_and_release_by_another_gateway_changes_nothing()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-release");
        var session = await StoreAsync("dtls-release", credential.PskIdentity);
        await session.Grain.Release(GatewayB, new DtlsReplayMark(99, 1));
        Assert.Equal(GatewayA, (await StoredAsync(session.Grain))!.Owner);

        var mark = new DtlsReplayMark(12, 0b11);
        await session.Grain.Release(GatewayA, mark);
        var lease = await session.Grain.TakeOver(GatewayB, GatewayB, 100, NextProof(), InOneHour);
        Assert.Equal(Guid.Empty, lease!.PreviousOwner);
        Assert.Equal(mark, lease.Replay);
        Assert.False(await session.Grain.Extend(GatewayA, 1000, mark, InOneHour));
    }

    [Fact]
    public async Task Two_copies_at_the_same_gateway_are_told_apart_by_their_lease()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-lease-copies");
        var session = await StoreAsync("dtls-lease-copies", credential.PskIdentity);
        // A second copy at the same gateway (a duplicate takeover, or a restarted process with a fixed gateway id).
        var second = Guid.NewGuid();
        var lease = await session.Grain.TakeOver(GatewayA, second, 1000, NextProof(), InOneHour);
        Assert.NotNull(lease);

        // The first copy may no longer extend into the second copy's block, nor erase it.
        Assert.False(await session.Grain.Extend(GatewayA, lease.WriteSequenceLimit + 1000, new DtlsReplayMark(1, 1), InOneHour));
        await session.Grain.Remove(GatewayA);
        Assert.NotNull(await StoredAsync(session.Grain));
        Assert.True(await session.Grain.Extend(second, lease.WriteSequenceLimit + 1000, new DtlsReplayMark(2_000_000_000, 1), InOneHour));
    }

    [Fact]
    public async Task A_proving_record_proves_once_and_a_takeover_refreshes_the_expiry()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-proof");
        var session = await StoreAsync("dtls-proof", credential.PskIdentity);
        var proof = NextProof();
        var later = InOneHour.AddHours(5);

        var lease = await session.Grain.TakeOver(GatewayB, GatewayB, 100, proof, later);
        Assert.NotNull(lease);
        Assert.Equal(later, lease.ExpiresAt);
        // The same record (replayed to yet another gateway), or an older one, takes nothing over.
        Assert.Null(await session.Grain.TakeOver(GatewayC, GatewayC, 100, proof, later));
        Assert.Null(await session.Grain.TakeOver(GatewayC, GatewayC, 100, proof - 1, later));
        Assert.Equal(GatewayB, (await session.Grain.Load())!.PreviousOwner);
        Assert.NotNull(await session.Grain.TakeOver(GatewayC, GatewayC, 100, proof + 1, later));
    }

    [Fact]
    public async Task The_previous_owner_is_told_when_another_gateway_takes_over()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-moved");
        await using var previous = await TestGateway.AttachAsync(cluster);
        var session = await StoreAsync("dtls-moved", credential.PskIdentity, owner: previous.Id);

        Assert.NotNull(await session.Grain.TakeOver(GatewayB, GatewayB, 100, NextProof(), InOneHour));
        var notice = await previous.NextMovedAsync();
        Assert.Equal(new DtlsSessionMoved(session.ConnectionId, session.Snapshot.SessionKey, GatewayB, previous.Id), notice);
    }

    [Fact]
    public async Task A_revoked_credentials_session_cannot_be_taken_over_and_is_erased()
    {
        var (device, credential) = await DeviceWithCredentialAsync("dtls-revoked");
        var session = await StoreAsync("dtls-revoked", credential.PskIdentity);
        Assert.True(await device.HasDtlsSession(session.ConnectionId));

        Assert.True(await device.RevokeCredential(credential.Id));

        Assert.False(await device.HasDtlsSession(session.ConnectionId));
        Assert.Null(await session.Grain.TakeOver(GatewayB, GatewayB, 100, NextProof(), InOneHour));
        Assert.Null(await StoredAsync(session.Grain));
        // And no gateway can store a session of that identity any more.
        var again = NewSnapshot("dtls-revoked", credential.PskIdentity);
        Assert.False(await cluster.Grains.GetGrain<IDtlsSessionGrain>(Convert.ToHexStringLower(again.ReceiveConnectionId)).Store(again, GatewayA, GatewayA, 100, InOneHour));
        // The gateways' session table is told too (that credential's rows only).
        Assert.Equal([("dtls-revoked", credential.PskIdentity, false)], cluster.SessionTable.CallsFor("dtls-revoked"));
    }

    [Fact]
    public async Task A_stored_record_its_twin_does_not_list_cannot_be_taken_over_and_is_erased()
    {
        // What a revocation leaves when its erase call is lost: a complete record the twin no longer lists.
        var (device, credential) = await DeviceWithCredentialAsync("dtls-orphan");
        var session = await StoreAsync("dtls-orphan", credential.PskIdentity);
        var record = (await StoredAsync(session.Grain))!;
        var cid = RandomNumberGenerator.GetBytes(8);
        var key = Convert.ToHexStringLower(cid);
        var protector = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<CredentialProtector>();
        record.ReceiveConnectionId = cid;
        record.ProtectedSecrets = protector.Protect(session.Snapshot.Secrets, DtlsSessionSnapshot.SecretsAssociatedData(key, record.SessionKey!));
        var orphan = cluster.Grains.GetGrain<IDtlsSessionGrain>(key);
        await cluster.WriteStoredStateAsync(StateName, orphan, record);
        Assert.False(await device.HasDtlsSession(key));

        Assert.Null(await orphan.TakeOver(GatewayB, GatewayB, 100, NextProof(), InOneHour));
        Assert.Null(await StoredAsync(orphan));
        Assert.NotNull(await session.Grain.TakeOver(GatewayB, GatewayB, 100, NextProof(), InOneHour));
    }

    [Fact]
    public async Task Deleting_the_device_erases_its_stored_sessions()
    {
        var (device, credential) = await DeviceWithCredentialAsync("dtls-deleted");
        var first = await StoreAsync("dtls-deleted", credential.PskIdentity);
        var second = await StoreAsync("dtls-deleted", credential.PskIdentity, owner: GatewayB);

        Assert.True(await device.Delete());

        Assert.Null(await first.Grain.TakeOver(GatewayC, GatewayC, 100, NextProof(), InOneHour));
        Assert.Null(await second.Grain.TakeOver(GatewayC, GatewayC, 100, NextProof(), InOneHour));
        Assert.Null(await StoredAsync(first.Grain));
        Assert.Null(await StoredAsync(second.Grain));
        Assert.Equal([("dtls-deleted", credential.PskIdentity, true)], cluster.SessionTable.CallsFor("dtls-deleted"));
    }

    [Fact]
    public async Task Store_is_refused_and_writes_nothing_for_an_unknown_device_or_an_identity_that_is_not_its_credential()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-refused");
        foreach (var snapshot in new[] { NewSnapshot("dtls-nobody", credential.PskIdentity), NewSnapshot("dtls-refused", "koru-someone-else") })
        {
            var grain = cluster.Grains.GetGrain<IDtlsSessionGrain>(Convert.ToHexStringLower(snapshot.ReceiveConnectionId));
            Assert.False(await grain.Store(snapshot, GatewayA, GatewayA, 100, InOneHour));
            Assert.Null(await StoredAsync(grain));
            Assert.Null(await grain.TakeOver(GatewayB, GatewayB, 100, NextProof(), InOneHour));
        }
    }

    [Fact]
    public async Task The_secrets_are_stored_encrypted_and_bound_to_their_record()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-secret");
        var session = await StoreAsync("dtls-secret", credential.PskIdentity);
        var stored = (await StoredAsync(session.Grain))!;
        // nonce ‖ ciphertext ‖ tag, with no run of the secrets in it.
        Assert.Equal(12 + session.Snapshot.Secrets.Length + 16, stored.ProtectedSecrets.Length);
        Assert.Equal(-1, stored.ProtectedSecrets.AsSpan().IndexOf(session.Snapshot.Secrets.AsSpan(0, 16)));

        var protector = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<CredentialProtector>();
        var key = session.Snapshot.SessionKey;
        Assert.Equal(session.Snapshot.Secrets, protector.Unprotect(stored.ProtectedSecrets, DtlsSessionSnapshot.SecretsAssociatedData(session.ConnectionId, key)));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(stored.ProtectedSecrets, DtlsSessionSnapshot.SecretsAssociatedData("00" + session.ConnectionId, key)));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(stored.ProtectedSecrets, DtlsSessionSnapshot.SecretsAssociatedData(session.ConnectionId, key + "x")));
    }

    [Fact]
    public async Task A_connection_id_holding_a_live_session_refuses_another_until_it_expires_and_the_same_session_stores_again()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-collide");
        var session = await StoreAsync("dtls-collide", credential.PskIdentity, limit: 100);
        var other = NewSnapshot("dtls-collide", credential.PskIdentity, session.Snapshot.ReceiveConnectionId);

        Assert.False(await session.Grain.Store(other, GatewayB, GatewayB, 100, InOneHour));
        Assert.Equal(session.Snapshot.SessionKey, (await StoredAsync(session.Grain))!.SessionKey);

        // The same handshake stored again by its owner (a retry): accepted, the reservation kept.
        Assert.True(await session.Grain.Store(session.Snapshot, GatewayA, GatewayA, 50, InOneHour));
        Assert.Equal(100, (await StoredAsync(session.Grain))!.WriteSequenceLimit);
        // The same handshake stored by a gateway that is not its owner (a stale retry after a takeover): refused.
        Assert.False(await session.Grain.Store(session.Snapshot, GatewayB, GatewayB, 100, InOneHour));

        cluster.Time.Advance(TimeSpan.FromHours(1));
        Assert.True(await session.Grain.Store(other, GatewayB, GatewayB, 7, InOneHour));
        var lease = await session.Grain.TakeOver(GatewayC, GatewayC, 1, NextProof(), InOneHour);
        Assert.Equal((other.SessionKey, 7L, GatewayB), (lease!.Snapshot.SessionKey, lease.WriteSequenceStart, lease.PreviousOwner));
    }

    [Fact]
    public async Task An_expired_session_is_erased_at_takeover_and_forgotten_by_its_twin()
    {
        var (device, credential) = await DeviceWithCredentialAsync("dtls-expired");
        var session = await StoreAsync("dtls-expired", credential.PskIdentity);

        cluster.Time.Advance(TimeSpan.FromMinutes(59));
        // The takeover moves the expiry out to what the new owner states (here: a minute from now).
        Assert.NotNull(await session.Grain.TakeOver(GatewayB, GatewayB, 10, NextProof(), cluster.Time.GetUtcNow().AddMinutes(1)));
        cluster.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.True((await session.Grain.Load()) is not null, "expired before the new owner's expiry");
        cluster.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Null(await session.Grain.TakeOver(GatewayC, GatewayC, 10, NextProof(), InOneHour));
        Assert.Null(await StoredAsync(session.Grain));
        Assert.False(await device.HasDtlsSession(session.ConnectionId));
    }

    [Fact]
    public async Task Block_sizes_outside_1_to_2_pow_32_are_refused_and_an_exhausted_sequence_space_ends_the_session()
    {
        var (_, credential) = await DeviceWithCredentialAsync("dtls-space");
        var session = await StoreAsync("dtls-space", credential.PskIdentity, limit: DtlsSessionGrain.MaxSequenceLimit - 100);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => session.Grain.TakeOver(GatewayB, GatewayB, 0, NextProof(), InOneHour));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => session.Grain.TakeOver(GatewayB, GatewayB, (1L << 32) + 1, NextProof(), InOneHour));
        var last = await session.Grain.TakeOver(GatewayB, GatewayB, 100, NextProof(), InOneHour);
        Assert.Equal(DtlsSessionGrain.MaxSequenceLimit, last!.WriteSequenceLimit);

        Assert.Null(await session.Grain.TakeOver(GatewayC, GatewayC, 1, NextProof(), InOneHour));
        Assert.Null(await StoredAsync(session.Grain));
    }

    [Fact]
    public async Task Remove_by_the_owner_erases_the_record_and_unregisters_it_from_the_twin_and_nobody_else_may()
    {
        var (device, credential) = await DeviceWithCredentialAsync("dtls-remove");
        var session = await StoreAsync("dtls-remove", credential.PskIdentity);

        // A gateway that is not the owner (its copy was taken over, then evicted) erases nothing.
        await session.Grain.Remove(GatewayB);
        Assert.NotNull(await StoredAsync(session.Grain));
        var loaded = await session.Grain.Load();
        Assert.Equal(GatewayA, loaded!.PreviousOwner);
        Assert.Equal(loaded.WriteSequenceStart, loaded.WriteSequenceLimit);

        await session.Grain.Remove(GatewayA);

        Assert.Null(await StoredAsync(session.Grain));
        Assert.False(await device.HasDtlsSession(session.ConnectionId));
        Assert.Empty((await cluster.ReadStoredStateAsync<DeviceState>("device", device))!.DtlsSessions);
    }

    [Fact]
    public async Task The_twin_keeps_the_newest_sessions_and_an_evicted_one_cannot_be_taken_over()
    {
        var (device, credential) = await DeviceWithCredentialAsync("dtls-evict");
        var sessions = new List<StoredSession>();
        for (var i = 0; i < 17; i++)
        {
            sessions.Add(await StoreAsync("dtls-evict", credential.PskIdentity));
        }

        Assert.False(await device.HasDtlsSession(sessions[0].ConnectionId));
        Assert.Null(await sessions[0].Grain.TakeOver(GatewayB, GatewayB, 10, NextProof(), InOneHour));
        Assert.Null(await StoredAsync(sessions[0].Grain));
        Assert.True(await device.HasDtlsSession(sessions[1].ConnectionId));
        Assert.NotNull(await sessions[16].Grain.TakeOver(GatewayB, GatewayB, 10, NextProof(), InOneHour));
        Assert.Equal(16, (await cluster.ReadStoredStateAsync<DeviceState>("device", device))!.DtlsSessions.Count);
    }
}
