using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>
/// <see cref="CoapServer{TPeer}.TryProcessInline"/>: what can be answered synchronously is answered on the caller's
/// thread before it returns (reading the caller's buffer only during the call); a request for an asynchronous handler
/// is declined untouched, so the transport queues it for <see cref="CoapServer{TPeer}.OnDatagram"/>.
/// </summary>
public sealed class InlineDispatchTests
{
    [Fact]
    public void Discovery_is_answered_before_TryProcessInline_returns()
    {
        var h = new StackHarness();
        var request = CoapSerializer.ToArray(StackHarness.Con(CoapCode.Get, "/.well-known/core", 0x2001));

        Assert.True(h.Server.TryProcessInline("client", request));

        var response = Parse(h.TryNextRaw());
        Assert.Equal(CoapMessageType.Acknowledgement, response.Type);
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal(0x2001, response.MessageId);
        Assert.Equal(0, h.Server.InFlight);
    }

    [Fact]
    public void A_request_for_an_asynchronous_handler_is_declined_without_side_effects_and_then_served_by_OnDatagram()
    {
        var h = new StackHarness();
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
        {
            calls++;
            return ValueTask.FromResult(new CoapResponse(CoapCode.Created));
        });
        var request = CoapSerializer.ToArray(StackHarness.Con(CoapCode.Post, "/telemetry", 0x2002));

        Assert.False(h.Server.TryProcessInline("client", request));
        Assert.Equal(0, calls);
        Assert.True(h.NothingSent);
        Assert.Equal(0, h.Server.Deduplicator.Count); // not remembered: the queued copy must not look like a duplicate

        h.Server.OnDatagram("client", request);
        var response = Parse(h.TryNextRaw());
        Assert.Equal(CoapCode.Created, response.Code);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void An_inline_handler_sees_its_route_values_and_a_lazily_built_exchange_id()
    {
        var h = new StackHarness();
        string? seen = null;
        h.Router.MapInline(CoapCode.Get, "/echo/{name}", ctx =>
        {
            seen = ctx.RouteValues["name"] + " " + ctx.ExchangeId;
            return new CoapResponse(CoapCode.Content);
        });

        var datagram = CoapSerializer.ToArray(StackHarness.Con(CoapCode.Get, "/echo/abc", 0x0102, [0xA1, 0xB2]));
        Assert.True(h.Server.TryProcessInline("client", datagram));

        Assert.Equal($"abc client/258/A1B2/{MessageFingerprint.Of(datagram):x16}", seen);
        Assert.Equal(CoapCode.Content, Parse(h.TryNextRaw()).Code);
    }

    [Fact]
    public void Unknown_paths_wrong_methods_pings_and_malformed_cons_are_answered_inline()
    {
        var h = new StackHarness();
        h.Router.Map(CoapCode.Post, "/telemetry", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Created)));

        Assert.True(h.Server.TryProcessInline("client", CoapSerializer.ToArray(StackHarness.Con(CoapCode.Get, "/nope", 1))));
        Assert.Equal(CoapCode.NotFound, Parse(h.TryNextRaw()).Code);
        Assert.True(h.Server.TryProcessInline("client", CoapSerializer.ToArray(StackHarness.Con(CoapCode.Get, "/telemetry", 2))));
        Assert.Equal(CoapCode.MethodNotAllowed, Parse(h.TryNextRaw()).Code);
        Assert.True(h.Server.TryProcessInline("client", CoapSerializer.ToArray(StackHarness.Empty(CoapMessageType.Confirmable, 3))));
        Assert.Equal(CoapMessageType.Reset, Parse(h.TryNextRaw()).Type);
        // A CON with a truncated option (§3.1): rejected with RST (§4.2).
        Assert.True(h.Server.TryProcessInline("client", new byte[] { 0x40, 0x01, 0x00, 0x04, 0xB5, 0x61 }));
        Assert.Equal(CoapMessageType.Reset, Parse(h.TryNextRaw()).Type);
    }

    [Fact]
    public void The_cached_answer_to_a_duplicate_survives_reuse_of_the_receive_buffer()
    {
        var h = new StackHarness();
        var calls = 0;
        h.Router.MapInline(CoapCode.Get, "/status", _ =>
        {
            calls++;
            return new CoapResponse(CoapCode.Content) { Payload = "ok"u8.ToArray() };
        });
        var original = CoapSerializer.ToArray(StackHarness.Con(CoapCode.Get, "/status", 0x3003, [1, 2, 3, 4]));
        var buffer = new byte[64];
        original.CopyTo(buffer, 0);

        Assert.True(h.Server.TryProcessInline("client", buffer.AsMemory(0, original.Length)));
        var first = h.TryNextRaw()!;
        // The transport reuses its buffer for another peer's datagram.
        var other = CoapSerializer.ToArray(StackHarness.Con(CoapCode.Get, "/status", 0x0001, [9, 9, 9, 9]));
        Array.Clear(buffer);
        other.CopyTo(buffer, 0);
        Assert.True(h.Server.TryProcessInline("other", buffer.AsMemory(0, other.Length)));
        h.TryNextRaw();
        // The first client retransmits (§4.2): answered from the cache, byte for byte, with its own token.
        original.CopyTo(buffer, 0);
        Assert.True(h.Server.TryProcessInline("client", buffer.AsMemory(0, original.Length)));

        var again = h.TryNextRaw()!;
        Assert.Equal(first, again);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, Parse(again).Token.ToArray());
        Assert.Equal(2, calls);
    }

    [Fact]
    public void A_throwing_inline_handler_is_answered_500_and_leaves_nothing_in_flight()
    {
        var h = new StackHarness();
        h.Router.MapInline(CoapCode.Get, "/boom", _ => throw new InvalidOperationException("boom"));

        Assert.True(h.Server.TryProcessInline("client", CoapSerializer.ToArray(StackHarness.Con(CoapCode.Get, "/boom", 7))));

        Assert.Equal(CoapCode.InternalServerError, Parse(h.TryNextRaw()).Code);
        Assert.Equal(0, h.Server.InFlight);
    }

    [Fact]
    public void An_inline_fallback_is_served_inline_and_an_asynchronous_one_is_declined()
    {
        var inline = new StackHarness();
        inline.Router.InlineFallback = _ => new CoapResponse(CoapCode.Unauthorized);
        var queued = new StackHarness();
        queued.Router.Fallback = _ => ValueTask.FromResult(new CoapResponse(CoapCode.Unauthorized));
        var request = CoapSerializer.ToArray(StackHarness.Con(CoapCode.Post, "/anything", 9));

        Assert.True(inline.Server.TryProcessInline("client", request));
        Assert.Equal(CoapCode.Unauthorized, Parse(inline.TryNextRaw()).Code);
        Assert.False(queued.Server.TryProcessInline("client", request));
        Assert.True(queued.NothingSent);
    }

    private static CoapMessage Parse(byte[]? bytes)
    {
        Assert.NotNull(bytes);
        var m = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(bytes, m));
        return m;
    }
}
