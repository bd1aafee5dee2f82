namespace NHub.Coap.Tests.Codec;

/// <summary>RFC 6690 link-format output and §4.1 query filtering.</summary>
public sealed class LinkFormatTests
{
    private static readonly WebLink[] Links =
    [
        new("/telemetry") { ResourceType = "nhub.telemetry", Interface = "core.s", ContentFormat = 50, Title = "Telemetry" },
        new("/commands/{device_id}") { ResourceType = "nhub.commands nhub.queue", ContentFormat = 50, Observable = true },
        new("/firmware/{version}") { ResourceType = "nhub.firmware", ContentFormat = 42, Size = 262144 },
    ];

    [Fact]
    public void Writes_every_attribute_in_a_stable_order()
    {
        Assert.Equal(
            "</telemetry>;rt=\"nhub.telemetry\";if=\"core.s\";ct=50;title=\"Telemetry\"," +
            "</commands/{device_id}>;rt=\"nhub.commands nhub.queue\";ct=50;obs," +
            "</firmware/{version}>;rt=\"nhub.firmware\";ct=42;sz=262144",
            LinkFormat.Write(Links));
    }

    [Fact]
    public void Quoted_values_escape_quotes_and_backslashes()
    {
        Assert.Equal("</a>;title=\"say \\\"hi\\\" \\\\o/\"", LinkFormat.Write([new WebLink("/a") { Title = "say \"hi\" \\o/" }]));
    }

    [Theory]
    [InlineData("rt=nhub.firmware", "/firmware/{version}")]
    [InlineData("rt=nhub.queue", "/commands/{device_id}")]          // any member of a space-separated rt
    [InlineData("rt=nhub.t*", "/telemetry")]                        // prefix match
    [InlineData("ct=42", "/firmware/{version}")]
    [InlineData("sz=262144", "/firmware/{version}")]
    [InlineData("if=core.s", "/telemetry")]
    [InlineData("href=/commands*", "/commands/{device_id}")]
    [InlineData("title=Telemetry", "/telemetry")]
    [InlineData("obs", "/commands/{device_id}")]
    public void A_query_selects_the_matching_links(string query, string target)
    {
        var selected = Links.Where(l => LinkFormat.Matches(l, query)).Select(l => l.Target);
        Assert.Equal([target], selected);
    }

    [Fact]
    public void A_query_matching_nothing_gives_an_empty_document()
    {
        Assert.Equal("", LinkFormat.Write(Links, "rt=none"));
        Assert.Equal(3, Links.Count(l => LinkFormat.Matches(l, null)));
    }
}
