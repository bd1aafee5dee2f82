using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Security;
using NHub.Gateway.Tests.Support;
using NHub.Testing;

namespace NHub.Gateway.Tests.Security;

/// <summary>The registered authorities as a gateway holds them: fetched per refresh period, kept through a failed refresh.</summary>
public sealed class TrustAnchorCacheTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly InMemoryCertificateDirectory _directory = new(new InMemoryPskSource());
    private readonly ListLogger<TrustAnchorCache> _log = new();
    private readonly TrustAnchorCache _cache;

    public TrustAnchorCacheTests() =>
        _cache = new TrustAnchorCache(_directory, new CredentialCacheOptions { TrustAnchorRefresh = TimeSpan.FromSeconds(10) }, _time, _log);

    [Fact]
    public void The_list_is_fetched_once_per_refresh_period_and_a_change_is_seen_after_it()
    {
        using var first = TestCertificates.Authority("First CA");
        using var second = TestCertificates.Authority("Second CA");
        _directory.Trust(first.Der);

        Assert.Single(_cache.Get(default));
        _directory.Trust(second.Der);
        Assert.Single(_cache.Get(default));
        Assert.Equal(1, _directory.AnchorFetches);

        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(2, _cache.Get(default).Count);
        Assert.Equal(2, _directory.AnchorFetches);
    }

    [Fact]
    public void A_failed_refresh_keeps_the_last_list_and_says_so_but_with_none_yet_it_fails()
    {
        using var authority = TestCertificates.Authority();
        _directory.Trust(authority.Der);
        _directory.AnchorFailure = new TimeoutException("silo unreachable");
        Assert.Throws<TimeoutException>(() => _cache.Get(default));

        _directory.AnchorFailure = null;
        Assert.Single(_cache.Get(default));
        _directory.AnchorFailure = new TimeoutException("silo unreachable");
        _time.Advance(TimeSpan.FromSeconds(11));

        Assert.Single(_cache.Get(default));
        Assert.Contains(_log.Entries, e => e.Message.Contains("keeping version", StringComparison.Ordinal));
    }
}
