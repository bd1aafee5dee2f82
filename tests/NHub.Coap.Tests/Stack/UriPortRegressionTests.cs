using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

public sealed class UriPortRegressionTests
{
    [Fact]
    public async Task A_request_carrying_uri_host_and_uri_port_is_answered()
    {
        // libcoap adds Uri-Port (7, critical) whenever the URI names a non-default port.
        var h = new StackHarness();
        h.Router.Map(CoapCode.Get, "/status", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content) { Payload = "ok"u8.ToArray() }));
        var get = StackHarness.Con(CoapCode.Get, "/status", 1);
        get.AddOption(CoapOption.FromUInt(CoapOptionNumber.UriPort, 15683));
        get.AddOption(CoapOption.FromString(CoapOptionNumber.UriHost, "127.0.0.1"));
        h.Receive("client", get);
        Assert.Equal(CoapCode.Content, (await h.NextAsync()).Code);
    }
}
