using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Backend;
using NHub.Gateway.Resources;
using NHub.Grains;
using NHub.ServiceDefaults;
using NHub.Testing;
using Npgsql;

namespace NHub.Integration.Tests.Devices;

/// <summary>
/// The gateways' DTLS session table (<see cref="PostgresDtlsSessionStore"/>, migration 0007) on real PostgreSQL, with
/// a production silo for the key, the credentials and the moved notices: the same contract the session grains keep
/// (tests/NHub.Grains.Tests/Sessions), in SQL.
/// </summary>
[Collection(PlatformServersCollection.Name)]
public sealed class DtlsSessionTableTests(PlatformServersFixture servers) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Expiry is decided by the gateway's clock, passed to every statement: the test moves it.</summary>
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private ProductionSilo _platform = null!;
    private NpgsqlDataSource _db = null!;
    private NpgsqlDataSource _lazy = null!;

    public async Task InitializeAsync()
    {
        _platform = await ProductionSilo.StartAsync(servers);
        var cs = _platform.Settings["ConnectionStrings:Postgres"]!;
        _db = NpgsqlDataSource.Create(PostgresConnectionBudget.GatewaySessions(cs, 4));
        _lazy = NpgsqlDataSource.Create(PostgresConnectionBudget.GatewaySessions(cs, 4, lazyCommit: true));
    }

    public async Task DisposeAsync()
    {
        await _lazy.DisposeAsync();
        await _db.DisposeAsync();
        await _platform.DisposeAsync();
    }

    private DateTimeOffset InOneHour => _clock.GetUtcNow().AddHours(1);

    /// <summary>A gateway's store, with its own id.</summary>
    private PostgresDtlsSessionStore Gateway(Guid? id = null, int maxPerDevice = 16) =>
        new(_db, _lazy, _platform.Grains, new GatewayIdentity(id ?? Guid.NewGuid()),
            new SessionStoreOptions { MaxSessionsPerDevice = maxPerDevice }, _clock, NullLogger<PostgresDtlsSessionStore>.Instance);

    private PostgresDtlsSessionSweeper Sweeper() =>
        new(_db, new SessionStoreOptions(), _clock, NullLogger<PostgresDtlsSessionSweeper>.Instance);

    private async Task<(IDeviceGrain Device, CredentialSummary Credential)> DeviceWithCredentialAsync(string deviceId)
    {
        var device = _platform.Grains.GetGrain<IDeviceGrain>(deviceId);
        await device.Provision(new DeviceRecord(deviceId, "KM-3", "SN-" + deviceId, "86918107" + deviceId, null));
        var issued = await device.IssueCredential(PskFormat.Binary);
        return (device, issued.Credential!.Summary);
    }

    private DtlsSessionSnapshot NewSnapshot(string deviceId, string pskIdentity, int secondsAgo = 0) =>
        new(deviceId, pskIdentity, "dtls:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), 0xC0A8, true,
            RandomNumberGenerator.GetBytes(40), RandomNumberGenerator.GetBytes(6), [0x01, 0x02], _clock.GetUtcNow().AddSeconds(-secondsAgo));

    private async Task<long> RowsAsync(string deviceId)
    {
        await using var cmd = _db.CreateCommand("SELECT count(*) FROM nhub_dtls_sessions WHERE device_id = @d");
        cmd.Parameters.AddWithValue("d", deviceId);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_stored_session_loads_elsewhere_with_its_keys_and_the_secrets_are_encrypted_at_rest()
    {
        var (_, credential) = await DeviceWithCredentialAsync("tbl-load");
        var a = Guid.NewGuid();
        var session = NewSnapshot("tbl-load", credential.PskIdentity);
        var lease = Guid.NewGuid();
        Assert.True(await Gateway(a).StoreAsync(session, lease, 8192, InOneHour, retry: false, default));

        var loaded = await Gateway().LoadAsync(session.ReceiveConnectionId, default);
        Assert.NotNull(loaded);
        Assert.Equal(session.Secrets, loaded.Snapshot.Secrets);
        Assert.Equal((session.SessionKey, session.PskIdentity, session.CipherSuite, session.EncryptThenMac), (loaded.Snapshot.SessionKey, loaded.Snapshot.PskIdentity, loaded.Snapshot.CipherSuite, loaded.Snapshot.EncryptThenMac));
        Assert.Equal(session.SendConnectionId, loaded.Snapshot.SendConnectionId);
        Assert.Equal((8192L, 8192L, a), (loaded.WriteSequenceStart, loaded.WriteSequenceLimit, loaded.PreviousOwner));
        Assert.Equal(new DtlsReplayMark(0, 1), loaded.Replay);

        await using var cmd = _db.CreateCommand("SELECT secrets FROM nhub_dtls_sessions WHERE connection_id = @c");
        cmd.Parameters.AddWithValue("c", session.ReceiveConnectionId);
        var atRest = (byte[])(await cmd.ExecuteScalarAsync())!;
        Assert.Equal(session.Secrets.Length + 28, atRest.Length); // GCM nonce and tag
        Assert.DoesNotContain(Convert.ToHexString(session.Secrets), Convert.ToHexString(atRest), StringComparison.Ordinal);

        // Copied under another CID, the ciphertext does not decrypt there: nobody gets that row.
        var copy = RandomNumberGenerator.GetBytes(6);
        await using (var dup = _db.CreateCommand(
            "INSERT INTO nhub_dtls_sessions SELECT @copy, session_key, device_id, psk_identity, cipher_suite, encrypt_then_mac, secrets, send_connection_id, established_at, owner, lease, write_sequence_limit, replay_top, replay_window, expires_at, updated_at FROM nhub_dtls_sessions WHERE connection_id = @c"))
        {
            dup.Parameters.AddWithValue("copy", copy);
            dup.Parameters.AddWithValue("c", session.ReceiveConnectionId);
            await dup.ExecuteNonQueryAsync();
        }
        Assert.Null(await Gateway().LoadAsync(copy, default));
        Assert.Null(await Gateway().TakeOverAsync(copy, Guid.NewGuid(), 100, 1, InOneHour, default));
        Assert.Null(await Gateway().LoadAsync(RandomNumberGenerator.GetBytes(6), default));

        // The lazy pool really is lazy, the other one durable.
        await using var lazyCheck = _lazy.CreateCommand("SHOW synchronous_commit");
        Assert.Equal("off", await lazyCheck.ExecuteScalarAsync());
        await using var durableCheck = _db.CreateCommand("SHOW synchronous_commit");
        Assert.Equal("on", await durableCheck.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_retried_store_grows_the_reservation_a_live_collision_is_refused_an_expired_one_replaced()
    {
        var (_, credential) = await DeviceWithCredentialAsync("tbl-store");
        var store = Gateway();
        var session = NewSnapshot("tbl-store", credential.PskIdentity);
        var lease = Guid.NewGuid();
        Assert.True(await store.StoreAsync(session, lease, 100, InOneHour, retry: false, default));
        Assert.True(await store.StoreAsync(session, lease, 200, InOneHour, retry: false, default));
        Assert.True(await store.StoreAsync(session, lease, 50, InOneHour, retry: false, default));
        Assert.Equal(200, (await store.LoadAsync(session.ReceiveConnectionId, default))!.WriteSequenceLimit);

        // A retry confirms the row its lease owns, and writes nothing where there is none.
        Assert.True(await store.StoreAsync(session, lease, 250, InOneHour, retry: true, default));
        Assert.Equal(250, (await store.LoadAsync(session.ReceiveConnectionId, default))!.WriteSequenceLimit);
        Assert.False(await store.StoreAsync(session, Guid.NewGuid(), 250, InOneHour, retry: true, default));
        var neverLanded = NewSnapshot("tbl-store", credential.PskIdentity);
        Assert.False(await store.StoreAsync(neverLanded, Guid.NewGuid(), 100, InOneHour, retry: true, default));
        Assert.Null(await store.LoadAsync(neverLanded.ReceiveConnectionId, default));

        // Another handshake that drew the same CID while this one lives: not stored, the first one untouched.
        var other = NewSnapshot("tbl-store", credential.PskIdentity) with { ReceiveConnectionId = session.ReceiveConnectionId };
        Assert.False(await Gateway().StoreAsync(other, Guid.NewGuid(), 100, InOneHour, retry: false, default));
        Assert.Equal(session.SessionKey, (await store.LoadAsync(session.ReceiveConnectionId, default))!.Snapshot.SessionKey);
        // A stale copy (the same handshake, another lease) cannot store over it either.
        Assert.False(await store.StoreAsync(session, Guid.NewGuid(), 300, InOneHour, retry: false, default));

        // Once the first one expired, the CID is free for another session: replaced, with a fresh replay window and
        // reservation. Not for the same session under another lease: a copy whose store was taken over meanwhile.
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.Null(await store.LoadAsync(session.ReceiveConnectionId, default));
        Assert.False(await store.StoreAsync(session, Guid.NewGuid(), 10, InOneHour, retry: false, default));
        var replaced = await Gateway().StoreAsync(other, Guid.NewGuid(), 10, InOneHour, retry: false, default);
        Assert.True(replaced);
        var now = await store.LoadAsync(session.ReceiveConnectionId, default);
        Assert.Equal((other.SessionKey, 10L, new DtlsReplayMark(0, 1)), (now!.Snapshot.SessionKey, now.WriteSequenceLimit, now.Replay));
    }

    [Fact]
    public async Task Takeovers_lease_disjoint_blocks_once_per_proving_record_and_tell_the_previous_owner()
    {
        var (_, credential) = await DeviceWithCredentialAsync("tbl-take");
        var a = Guid.NewGuid();
        var watching = await RecordingGatewayObserver.AttachAsync(_platform.Grains, a);
        var session = NewSnapshot("tbl-take", credential.PskIdentity);
        var leaseA = Guid.NewGuid();
        Assert.True(await Gateway(a).StoreAsync(session, leaseA, 100, InOneHour, retry: false, default));
        var cid = session.ReceiveConnectionId;

        var b = Guid.NewGuid();
        var first = await Gateway(b).TakeOverAsync(cid, Guid.NewGuid(), 1000, 5, InOneHour, default);
        Assert.NotNull(first);
        Assert.Equal((100L, 1100L, a), (first.WriteSequenceStart, first.WriteSequenceLimit, first.PreviousOwner));
        Assert.Equal(new DtlsReplayMark(0, 1), first.Replay);
        Assert.Equal(session.Secrets, first.Snapshot.Secrets);
        var notice = await watching.NextMovedAsync(Wait);
        Assert.Equal(new DtlsSessionMoved(Convert.ToHexStringLower(cid), session.SessionKey, b, leaseA), notice);

        // The proving record, replayed to a third gateway, or an older one, takes nothing over.
        Assert.Null(await Gateway().TakeOverAsync(cid, Guid.NewGuid(), 1000, 5, InOneHour, default));
        Assert.Null(await Gateway().TakeOverAsync(cid, Guid.NewGuid(), 1000, 4, InOneHour, default));
        // The old owner's lease is dead: it may neither extend nor erase.
        Assert.False(await Gateway(a).ExtendAsync(cid, leaseA, 200, new DtlsReplayMark(9, 1), InOneHour, default));
        await Gateway(a).RemoveAsync(cid, leaseA, default);
        Assert.NotNull(await Gateway().LoadAsync(cid, default));

        // Concurrent takeovers by many gateways: the row lock orders them; every block starts where another ended.
        // Each winner saw what the one before it wrote: its block start, its gateway as the previous owner, its proving
        // record as the replay top.
        var racerIds = Enumerable.Range(0, 8).Select(_ => Guid.NewGuid()).ToArray();
        var racers = await Task.WhenAll(racerIds.Select((id, i) =>
            Gateway(id).TakeOverAsync(cid, Guid.NewGuid(), 1000, 10 + i, InOneHour, default)));
        var winners = racers.Select((l, i) => (Lease: l, Gateway: racerIds[i], Proving: 10L + i))
            .Where(w => w.Lease is not null).OrderBy(w => w.Lease!.WriteSequenceStart).ToList();
        Assert.NotEmpty(winners);
        var (previousGateway, previousProving, previousLimit) = (b, 5L, 1100L);
        foreach (var (l, gatewayId, proving) in winners)
        {
            Assert.Equal((previousLimit, previousLimit + 1000), (l!.WriteSequenceStart, l.WriteSequenceLimit));
            Assert.Equal((previousGateway, previousProving), (l.PreviousOwner, l.Replay.Top));
            Assert.True(proving > previousProving);
            (previousGateway, previousProving, previousLimit) = (gatewayId, proving, l.WriteSequenceLimit);
        }
        Assert.Equal(previousLimit, (await Gateway().LoadAsync(cid, default))!.WriteSequenceLimit);
    }

    [Fact]
    public async Task Extend_checkpoints_only_for_the_owner_and_never_goes_back_and_a_release_leaves_no_owner()
    {
        var (_, credential) = await DeviceWithCredentialAsync("tbl-extend");
        var owner = Gateway();
        var session = NewSnapshot("tbl-extend", credential.PskIdentity);
        var lease = Guid.NewGuid();
        var cid = session.ReceiveConnectionId;
        Assert.True(await owner.StoreAsync(session, lease, 100, InOneHour, retry: false, default));

        Assert.True(await owner.ExtendAsync(cid, lease, 500, new DtlsReplayMark(40, 0b1011), InOneHour, default));
        Assert.True(await owner.ExtendAsync(cid, lease, 300, new DtlsReplayMark(30, 1), InOneHour, default));
        var loaded = (await owner.LoadAsync(cid, default))!;
        Assert.Equal((500L, new DtlsReplayMark(40, 0b1011)), (loaded.WriteSequenceLimit, loaded.Replay));
        Assert.False(await owner.ExtendAsync(cid, Guid.NewGuid(), 900, new DtlsReplayMark(50, 1), InOneHour, default));
        // A window with the top bit set survives the trip through bigint.
        Assert.True(await owner.ExtendAsync(cid, lease, 500, new DtlsReplayMark(41, 0x8000_0000_0000_0001), InOneHour, default));
        Assert.Equal(0x8000_0000_0000_0001UL, (await owner.LoadAsync(cid, default))!.Replay.Window);

        await owner.ReleaseAsync(cid, lease, new DtlsReplayMark(60, 1), default);
        Assert.False(await owner.ExtendAsync(cid, lease, 600, new DtlsReplayMark(61, 1), InOneHour, default));
        var taken = await Gateway().TakeOverAsync(cid, Guid.NewGuid(), 100, 61, InOneHour, default);
        Assert.NotNull(taken);
        Assert.Equal((Guid.Empty, new DtlsReplayMark(60, 1), 500L), (taken.PreviousOwner, taken.Replay, taken.WriteSequenceStart));
    }

    [Fact]
    public async Task Revoking_the_credential_or_deleting_the_device_erases_its_rows_and_a_row_that_raced_a_revocation_is_refused()
    {
        var (device, credential) = await DeviceWithCredentialAsync("tbl-revoke");
        var store = Gateway();
        var session = NewSnapshot("tbl-revoke", credential.PskIdentity);
        Assert.True(await store.StoreAsync(session, Guid.NewGuid(), 100, InOneHour, retry: false, default));
        var (_, otherCredential) = await DeviceWithCredentialAsync("tbl-revoke-other");
        var kept = NewSnapshot("tbl-revoke-other", otherCredential.PskIdentity);
        Assert.True(await store.StoreAsync(kept, Guid.NewGuid(), 100, InOneHour, retry: false, default));

        Assert.True(await device.RevokeCredential(credential.Id));
        Assert.Equal(0, await RowsAsync("tbl-revoke"));
        Assert.Null(await Gateway().LoadAsync(session.ReceiveConnectionId, default));
        Assert.NotNull(await Gateway().LoadAsync(kept.ReceiveConnectionId, default));

        // A handshake that looked the key up before the revocation and stored after the erase: its row is refused
        // by every gateway (the revocation is recorded in the table: no gateway asks a grain), then swept.
        var late = NewSnapshot("tbl-revoke", credential.PskIdentity);
        Assert.True(await store.StoreAsync(late, Guid.NewGuid(), 100, InOneHour, retry: false, default));
        Assert.Null(await Gateway().TakeOverAsync(late.ReceiveConnectionId, Guid.NewGuid(), 100, 1, InOneHour, default));
        Assert.Null(await Gateway().LoadAsync(late.ReceiveConnectionId, default));
        Assert.Equal(1, await RowsAsync("tbl-revoke"));
        Assert.True(await Sweeper().SweepAsync(default) >= 1);
        Assert.Equal(0, await RowsAsync("tbl-revoke"));

        // The same identity issued again: a session established well after the revocation is the new credential's.
        var reissued = (await device.IssueCredential(PskFormat.Binary)).Credential!.Summary;
        Assert.Equal(credential.PskIdentity, reissued.PskIdentity);
        _clock.Advance(TimeSpan.FromMinutes(2));
        var renewed = NewSnapshot("tbl-revoke", reissued.PskIdentity);
        Assert.True(await store.StoreAsync(renewed, Guid.NewGuid(), 100, InOneHour, retry: false, default));
        Assert.NotNull(await Gateway().TakeOverAsync(renewed.ReceiveConnectionId, Guid.NewGuid(), 100, 1, InOneHour, default));

        // Deleting a device erases all of its rows.
        Assert.True(await _platform.Grains.GetGrain<IDeviceGrain>("tbl-revoke-other").Delete());
        Assert.Equal(0, await RowsAsync("tbl-revoke-other"));
    }

    [Fact]
    public async Task A_device_keeps_its_newest_sessions_and_expired_ones_are_swept()
    {
        var (_, credential) = await DeviceWithCredentialAsync("tbl-trim");
        var store = Gateway(maxPerDevice: 2);
        var oldest = NewSnapshot("tbl-trim", credential.PskIdentity, secondsAgo: 30);
        var middle = NewSnapshot("tbl-trim", credential.PskIdentity, secondsAgo: 20);
        var newest = NewSnapshot("tbl-trim", credential.PskIdentity, secondsAgo: 10);
        foreach (var s in new[] { oldest, middle, newest })
        {
            Assert.True(await store.StoreAsync(s, Guid.NewGuid(), 100, InOneHour, retry: false, default));
        }
        Assert.Equal(2, await RowsAsync("tbl-trim"));
        Assert.Null(await store.LoadAsync(oldest.ReceiveConnectionId, default));
        Assert.NotNull(await store.LoadAsync(middle.ReceiveConnectionId, default));

        // Many handshakes of the device at once, each trimming: every one is stored (the trim skips rows another
        // transaction holds instead of waiting: a sustained benchmark on one device deadlocked, 40P01, before), and the
        // next store alone trims what they skipped.
        var burst = Gateway(maxPerDevice: 2);
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            for (var i = 0; i < 25; i++)
            {
                Assert.True(await burst.StoreAsync(NewSnapshot("tbl-trim", credential.PskIdentity, secondsAgo: i % 3), Guid.NewGuid(), 100, InOneHour, retry: false, default));
            }
        }));
        Assert.True(await store.StoreAsync(NewSnapshot("tbl-trim", credential.PskIdentity), Guid.NewGuid(), 100, InOneHour, retry: false, default));
        Assert.Equal(2, await RowsAsync("tbl-trim"));

        _clock.Advance(TimeSpan.FromHours(2));
        Assert.True(await Sweeper().SweepAsync(default) >= 2);
        Assert.Equal(0, await RowsAsync("tbl-trim"));
    }
}
