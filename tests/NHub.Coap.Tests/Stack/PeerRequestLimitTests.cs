using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>RFC 8516 4.29 for a peer with too many requests in progress; other peers are not affected.</summary>
public sealed class PeerRequestLimitTests
{
    [Fact]
    public async Task A_peer_past_its_requests_in_progress_gets_4_29_with_max_age_and_its_handler_is_not_called()
    {
        var h = new StackHarness(o => o.MaxRequestsInProgressPerPeer = 3);
        var release = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
        {
            Interlocked.Increment(ref calls);
            return new ValueTask<CoapResponse>(release.Task);
        });

        for (ushort mid = 1; mid <= 3; mid++)
        {
            h.Receive("client", StackHarness.Con(CoapCode.Post, "/telemetry", mid, [(byte)mid]));
        }
        Assert.True(h.NothingSent); // three in progress, waiting for the backend

        var fourth = StackHarness.Con(CoapCode.Post, "/telemetry", 4, [4]);
        h.Receive("client", fourth);
        var refused = await h.NextAsync();
        Assert.Equal(CoapCode.TooManyRequests, refused.Code);
        Assert.Equal(CoapMessageType.Acknowledgement, refused.Type);
        Assert.Equal(4, refused.MessageId);
        Assert.Equal(2u, refused.MaxAge);
        Assert.Equal(3, calls);

        // Its retransmission is answered from the cache, the same way; another peer is served meanwhile.
        h.Receive("client", fourth);
        Assert.Equal(CoapSerializer.ToArray(refused), CoapSerializer.ToArray(await h.NextAsync()));
        h.Receive("other", StackHarness.Con(CoapCode.Post, "/telemetry", 4, [4]));
        Assert.Equal(4, calls);

        release.SetResult(new CoapResponse(CoapCode.Created));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(CoapCode.Created, (await h.NextAsync(expectedPeer: null)).Code);
        }

        // Work done: the peer is served again.
        h.Receive("client", StackHarness.Con(CoapCode.Post, "/telemetry", 5, [5]));
        Assert.Equal(CoapCode.Created, (await h.NextAsync()).Code);
        Assert.Equal(5, calls);
    }

    [Fact]
    public async Task Sessions_of_one_client_share_its_bound_when_the_host_names_the_client()
    {
        // Peers "meter-7/a" and "meter-7/b" are two sessions of one device; the host counts them as one client.
        var h = new StackHarness(o => o.MaxRequestsInProgressPerPeer = 2, requestLimitKey: p => p.Split('/')[0]);
        var release = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
        {
            Interlocked.Increment(ref calls);
            return new ValueTask<CoapResponse>(release.Task);
        });

        h.Receive("meter-7/a", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        h.Receive("meter-7/b", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        h.Receive("meter-7/b", StackHarness.Con(CoapCode.Post, "/telemetry", 2, [2]));

        var refused = await h.NextAsync(expectedPeer: "meter-7/b");
        Assert.Equal(CoapCode.TooManyRequests, refused.Code);
        Assert.Equal(2, refused.MessageId);
        Assert.Equal(2, calls);
        // Another device is not affected.
        h.Receive("meter-8/a", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        Assert.Equal(3, calls);
        release.SetResult(new CoapResponse(CoapCode.Created));
    }

    [Fact]
    public async Task A_non_request_past_the_limit_gets_a_non_4_29()
    {
        var h = new StackHarness(o => o.MaxRequestsInProgressPerPeer = 1);
        var release = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Router.Map(CoapCode.Post, "/telemetry", _ => new ValueTask<CoapResponse>(release.Task));
        var first = StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]);
        first.Type = CoapMessageType.NonConfirmable;
        var second = StackHarness.Con(CoapCode.Post, "/telemetry", 2, [2]);
        second.Type = CoapMessageType.NonConfirmable;

        h.Receive("client", first);
        h.Receive("client", second);
        var refused = await h.NextAsync();
        Assert.Equal(CoapCode.TooManyRequests, refused.Code);
        Assert.Equal(CoapMessageType.NonConfirmable, refused.Type);
        Assert.Equal(new byte[] { 2 }, refused.Token.ToArray());
        release.SetResult(new CoapResponse(CoapCode.Created));
        Assert.Equal(CoapCode.Created, (await h.NextAsync()).Code);
    }
}
