using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Security;
using NHub.Gateway.Tests.Support;

namespace NHub.Gateway.Tests.Security;

public sealed class CredentialCacheTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryPskSource _source = new();

    private CredentialCache NewCache(CredentialCacheOptions? options = null) => new(_source, options ?? new CredentialCacheOptions(), _time);

    [Fact]
    public async Task A_found_credential_is_served_from_cache_until_the_five_minute_ttl_expires()
    {
        _source.Add("dev-1", "key-1");
        var cache = NewCache();

        var first = await cache.GetAsync("dev-1");
        _time.Advance(TimeSpan.FromMinutes(4));
        var second = await cache.GetAsync("dev-1");

        Assert.NotNull(first);
        Assert.Same(first, second);
        Assert.Equal(1, _source.Lookups);

        _source.Revoke("dev-1");
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var third = await cache.GetAsync("dev-1");

        Assert.Equal(2, _source.Lookups);
        Assert.Equal(PskCredentialStatus.Revoked, third!.Status);
    }

    [Fact]
    public async Task An_unknown_identity_is_remembered_only_for_the_short_negative_ttl()
    {
        var cache = NewCache(new CredentialCacheOptions { NegativeTimeToLive = TimeSpan.FromSeconds(30) });

        Assert.Null(await cache.GetAsync("new-device"));
        Assert.Null(await cache.GetAsync("new-device"));
        Assert.Equal(1, _source.Lookups);

        _source.Add("new-device", "k");
        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.NotNull(await cache.GetAsync("new-device"));
        Assert.Equal(2, _source.Lookups);
    }

    [Fact]
    public async Task Invalidate_makes_the_next_lookup_ask_the_source_at_once()
    {
        _source.Add("dev-1", "key-1");
        var cache = NewCache();
        await cache.GetAsync("dev-1");

        _source.Revoke("dev-1");
        cache.Invalidate("dev-1");
        var after = await cache.GetAsync("dev-1");

        Assert.Equal(2, _source.Lookups);
        Assert.False(after!.IsActive);
    }

    [Fact]
    public async Task Concurrent_misses_for_one_identity_share_a_single_lookup()
    {
        _source.Add("dev-1", "key-1");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _source.Gate = gate.Task;
        var cache = NewCache();

        var lookups = Enumerable.Range(0, 10).Select(_ => cache.GetAsync("dev-1").AsTask()).ToArray();
        gate.SetResult();
        var results = await Task.WhenAll(lookups);

        Assert.Equal(1, _source.Lookups);
        Assert.All(results, r => Assert.Same(results[0], r));
    }

    [Fact]
    public async Task A_failed_lookup_is_not_cached()
    {
        _source.Add("dev-1", "key-1");
        _source.Gate = Task.FromException(new InvalidOperationException("registry down"));
        var cache = NewCache();

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("dev-1").AsTask());
        _source.Gate = null;

        Assert.NotNull(await cache.GetAsync("dev-1"));
        Assert.Equal(2, _source.Lookups);
    }

    [Fact]
    public async Task The_cache_stays_within_its_bound()
    {
        var cache = NewCache(new CredentialCacheOptions { MaxEntries = 100 });
        for (var i = 0; i < 1000; i++)
        {
            _source.Add($"dev-{i}", "k");
            await cache.GetAsync($"dev-{i}");
        }

        Assert.InRange(cache.Count, 1, 101);
    }

    [Fact]
    public void The_credential_never_prints_its_key()
    {
        var credential = new PskCredential("dev-1", "device-1", "super-secret"u8.ToArray(), PskCredentialStatus.Active);

        Assert.DoesNotContain("Key", credential.ToString(), StringComparison.Ordinal);
    }
}
