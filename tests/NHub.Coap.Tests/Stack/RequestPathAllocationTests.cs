using NHub.Coap.Stack;
using Xunit.Abstractions;

namespace NHub.Coap.Tests.Stack;

/// <summary>
/// A functional property, not a timing: the bytes the stack allocates per request above the codec, for a request
/// served inline (GET /.well-known/core, the throughput benchmark's request). What remains per request is the
/// request context, the handler's response object, the response message and the serialized response the
/// de-duplication cache must keep for EXCHANGE_LIFETIME (RFC 7252 §4.5). The bound catches a regression (a closure,
/// a LINQ call, a per-request list) without pinning the exact figure, which is reported in bench/RESULTS.md.
/// </summary>
public sealed class RequestPathAllocationTests(ITestOutputHelper output)
{
    private const int Requests = 10_000;

    [Fact]
    public void An_inline_discovery_request_allocates_a_bounded_amount()
    {
        var options = new CoapServerOptions { MaxDedupEntriesPerPeer = 64 };
        var sent = 0;
        var server = new CoapServer<string>(options, new CoapRouter<string>(), (_, _) => ++sent > 0, TimeProvider.System);
        var datagram = new byte[64];
        var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Get, Token = new byte[] { 1, 2, 3, 4 } }
            .SetUriPath("/.well-known/core");
        ushort messageId = 0;
        int Write()
        {
            request.MessageId = messageId++;
            CoapSerializer.TryWrite(request, datagram, out var written);
            return written;
        }
        // Warm up: JIT, the dedup entry free list (the per-peer cap recycles entries), the cached discovery document.
        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(server.TryProcessInline("client", datagram.AsMemory(0, Write())));
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Requests; i++)
        {
            server.TryProcessInline("client", datagram.AsMemory(0, Write()));
        }
        var perRequest = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Requests;

        output.WriteLine($"{perRequest:F0} bytes per request");
        Assert.Equal(11_000, sent);
        // Debug builds make async state machines classes (allocated per call); Release measures less (RESULTS.md).
        Assert.InRange(perRequest, 0, 2048);
    }
}
