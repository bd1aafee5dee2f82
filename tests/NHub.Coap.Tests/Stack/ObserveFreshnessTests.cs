using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

public sealed class ObserveFreshnessTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(12u, 44u, 0, true)]                // RFC 7641 Figure 2: 12 then 44
    [InlineData(44u, 12u, 0, false)]               // reordered: older
    [InlineData(0xFFFFFEu, 1u, 0, true)]           // wrapped around 2^24
    [InlineData(1u, 0xFFFFFEu, 0, false)]
    [InlineData(5u, 5u, 0, false)]                 // a duplicate is not newer
    [InlineData(0u, 0x800000u, 0, false)]          // exactly 2^23 apart: neither
    [InlineData(44u, 12u, 129, true)]              // more than 128 s later: newer regardless of the number
    public void Follows_the_rfc_7641_ordering_rule(uint previous, uint next, int secondsLater, bool newer)
    {
        Assert.Equal(newer, ObserveFreshness.IsNewer(previous, T, next, T.AddSeconds(secondsLater)));
    }
}
