using System.Net;
using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Transport;

namespace NHub.Gateway.Tests.Transport;

public sealed class SourceRateLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_source_gets_its_burst_then_waits_for_refill()
    {
        var limiter = new SourceRateLimiter(ratePerSecond: 2, burst: 3, maxSources: 100, _time);
        var ip = IPAddress.Parse("198.51.100.7");

        Assert.True(limiter.TryAcquire(ip));
        Assert.True(limiter.TryAcquire(ip));
        Assert.True(limiter.TryAcquire(ip));
        Assert.False(limiter.TryAcquire(ip));

        _time.Advance(TimeSpan.FromMilliseconds(500)); // one token at 2/s
        Assert.True(limiter.TryAcquire(ip));
        Assert.False(limiter.TryAcquire(ip));
    }

    [Fact]
    public void A_refunded_token_is_available_again_but_never_beyond_the_burst()
    {
        var limiter = new SourceRateLimiter(ratePerSecond: 0.01, burst: 2, maxSources: 100, _time);
        var ip = IPAddress.Parse("198.51.100.8");

        // Honest work gives its token back: any number of actions, at most `burst` at a time.
        for (var i = 0; i < 50; i++)
        {
            Assert.True(limiter.TryAcquire(ip));
            limiter.Refund(ip);
        }
        Assert.True(limiter.TryAcquire(ip));
        Assert.True(limiter.TryAcquire(ip));
        Assert.False(limiter.TryAcquire(ip)); // two in progress

        limiter.Refund(ip);
        limiter.Refund(ip);
        limiter.Refund(ip); // one more than was taken: still only the burst
        Assert.True(limiter.TryAcquire(ip));
        Assert.True(limiter.TryAcquire(ip));
        Assert.False(limiter.TryAcquire(ip));
        limiter.Refund(IPAddress.Parse("198.51.100.9")); // a source never seen: nothing to give back, no entry made
        Assert.Equal(1, limiter.Count);
    }

    [Fact]
    public void Sources_are_independent()
    {
        var limiter = new SourceRateLimiter(1, 1, 100, _time);

        Assert.True(limiter.TryAcquire(IPAddress.Parse("198.51.100.1")));
        Assert.False(limiter.TryAcquire(IPAddress.Parse("198.51.100.1")));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("198.51.100.2")));
    }

    [Fact]
    public void IPv6_addresses_share_a_bucket_per_64_prefix_and_mapped_IPv4_is_IPv4()
    {
        var limiter = new SourceRateLimiter(1, 1, 100, _time);

        Assert.True(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::1")));
        Assert.False(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:3::1")));

        Assert.True(limiter.TryAcquire(IPAddress.Parse("192.0.2.1")));
        Assert.False(limiter.TryAcquire(IPAddress.Parse("::ffff:192.0.2.1")));
    }

    [Fact]
    public void Refilled_sources_are_forgotten_and_a_full_table_fails_open()
    {
        var limiter = new SourceRateLimiter(1, 1, 16, _time);
        for (var i = 0; i < 16; i++)
        {
            Assert.True(limiter.TryAcquire(IPAddress.Parse($"10.0.0.{i}")));
        }

        Assert.True(limiter.TryAcquire(IPAddress.Parse("10.0.1.1"))); // full, none idle: passes untracked
        Assert.Equal(16, limiter.Count);

        _time.Advance(TimeSpan.FromSeconds(2));
        limiter.Sweep();
        Assert.Equal(0, limiter.Count);
    }
}
