using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Resources;

namespace NHub.Gateway.Tests.Resources;

public sealed class NegativeCacheTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_name_is_remembered_for_its_time_to_live_and_forgotten_when_it_comes_to_exist()
    {
        var cache = new NegativeCache(TimeSpan.FromSeconds(5), 100, _time);
        cache.Add("9.9.9");
        Assert.True(cache.Contains("9.9.9"));
        Assert.False(cache.Contains("1.0.0"));
        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.True(cache.Contains("9.9.9"));
        _time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.False(cache.Contains("9.9.9"));
        Assert.Equal(0, cache.Count);

        cache.Add("2.0.0");
        cache.Remove("2.0.0");
        Assert.False(cache.Contains("2.0.0"));
    }

    [Fact]
    public void A_flood_of_names_stays_within_the_bound_and_the_newest_are_kept()
    {
        var cache = new NegativeCache(TimeSpan.FromMinutes(1), 1000, _time);
        for (var i = 0; i < 100_000; i++)
        {
            cache.Add("fuzz-" + i);
            _time.Advance(TimeSpan.FromMilliseconds(0.1));
        }
        Assert.InRange(cache.Count, 1, 1000);
        Assert.True(cache.Contains("fuzz-99999"));
        Assert.False(cache.Contains("fuzz-0"));
    }

    [Fact]
    public void A_time_to_live_of_zero_remembers_nothing()
    {
        var cache = new NegativeCache(TimeSpan.Zero, 10, _time);
        cache.Add("x");
        Assert.False(cache.Contains("x"));
        Assert.Equal(0, cache.Count);
    }
}
