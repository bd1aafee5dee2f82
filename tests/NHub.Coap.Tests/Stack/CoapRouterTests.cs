using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

public sealed class CoapRouterTests
{
    private static readonly CoapHandler<string> Ok = _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content));

    private static CoapMessage Request(CoapCode method, string path) => new CoapMessage { Code = method }.SetUriPath(path);

    private static CoapRouter<string> Router() => new CoapRouter<string>()
        .Map(CoapCode.Post, "/telemetry", Ok, new ResourceDescription("Telemetry", "nhub.telemetry", ContentFormat: 50))
        .Map(CoapCode.Get, "/commands/{device_id}", Ok, new ResourceDescription(ResourceType: "nhub.commands", Observable: true))
        .Map(CoapCode.Get, "/firmware/{version}", Ok, new ResourceDescription(ResourceType: "nhub.firmware", ContentFormat: 42, Size: 262144))
        .Map(CoapCode.Put, "/firmware/{version}", Ok);

    [Fact]
    public void Templates_bind_their_variables()
    {
        var match = Router().Match(Request(CoapCode.Get, "/commands/869181072798893"));
        Assert.Equal(RouteStatus.Found, match.Status);
        Assert.Equal("/commands/{device_id}", match.Template);
        Assert.Equal("869181072798893", match.Values["device_id"]);
    }

    [Theory]
    [InlineData("/nope", RouteStatus.NotFound)]
    [InlineData("/commands", RouteStatus.NotFound)]          // a variable segment must be present
    [InlineData("/commands/a/b", RouteStatus.NotFound)]
    [InlineData("/telemetry", RouteStatus.MethodNotAllowed)] // GET on a POST-only resource → 4.05
    [InlineData("/firmware/1.0", RouteStatus.Found)]
    public void Unknown_paths_and_wrong_methods_are_told_apart(string path, RouteStatus status)
    {
        Assert.Equal(status, Router().Match(Request(CoapCode.Get, path)).Status);
    }

    [Fact]
    public void A_resource_may_have_several_methods()
    {
        var router = Router();
        Assert.Equal(RouteStatus.Found, router.Match(Request(CoapCode.Put, "/firmware/2.0")).Status);
        Assert.Equal(RouteStatus.MethodNotAllowed, router.Match(Request(CoapCode.Delete, "/firmware/2.0")).Status);
    }

    [Fact]
    public void The_fallback_takes_what_no_route_matches()
    {
        var router = Router();
        router.Fallback = Ok;
        Assert.Equal(RouteStatus.Found, router.Match(Request(CoapCode.Get, "/nope")).Status);
    }

    [Fact]
    public void Well_known_core_lists_described_resources_and_filters_them()
    {
        var router = Router();
        Assert.Equal(
            "</telemetry>;rt=\"nhub.telemetry\";ct=50;title=\"Telemetry\",</commands/{device_id}>;rt=\"nhub.commands\";obs,</firmware/{version}>;rt=\"nhub.firmware\";ct=42;sz=262144",
            router.LinkFormat());
        Assert.Equal("</firmware/{version}>;rt=\"nhub.firmware\";ct=42;sz=262144", router.LinkFormat("rt=nhub.firmware"));
        Assert.Equal(RouteStatus.Found, router.Match(Request(CoapCode.Get, "/.well-known/core")).Status);
        Assert.Equal(RouteStatus.NotFound, new CoapRouter<string>(serveWellKnownCore: false).Match(Request(CoapCode.Get, "/.well-known/core")).Status);
    }

    [Fact]
    public void Only_inline_mapped_handlers_and_server_answered_statuses_are_inline()
    {
        var router = Router().MapInline(CoapCode.Get, "/status", _ => new CoapResponse(CoapCode.Content));

        Assert.True(router.Match(Request(CoapCode.Get, "/status")).Inline);
        Assert.True(router.Match(Request(CoapCode.Get, "/.well-known/core")).Inline);
        Assert.False(router.Match(Request(CoapCode.Post, "/telemetry")).Inline);
        Assert.True(router.Match(Request(CoapCode.Get, "/nope")).Inline);      // 4.04 from the server
        Assert.True(router.Match(Request(CoapCode.Get, "/telemetry")).Inline); // 4.05 from the server
        // Re-mapping the same method asynchronously takes the inline flag away.
        router.Map(CoapCode.Get, "/status", Ok);
        Assert.False(router.Match(Request(CoapCode.Get, "/status")).Inline);
    }

    [Fact]
    public void Segments_match_as_utf8_and_bound_values_are_decoded()
    {
        var router = new CoapRouter<string>().Map(CoapCode.Get, "/zähler/{id}", Ok);

        var match = router.Match(Request(CoapCode.Get, "/zähler/größe"));

        Assert.Equal(RouteStatus.Found, match.Status);
        Assert.Equal("größe", match.Values["id"]);
        Assert.Equal(RouteStatus.NotFound, router.Match(Request(CoapCode.Get, "/zahler/1")).Status);
    }
}
