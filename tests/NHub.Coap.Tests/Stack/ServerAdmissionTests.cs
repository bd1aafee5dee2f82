using System.Collections.Concurrent;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>
/// Gateway:Coap:MaxRequestsInProgress and MaxRequestsWaiting: all clients together, asynchronous handlers run up to
/// the bound, later requests wait in arrival order, past the waiting line they get 5.03 with Max-Age.
/// </summary>
public sealed class ServerAdmissionTests
{
    [Fact]
    public async Task A_request_past_the_bound_waits_until_a_running_one_is_answered_and_then_runs()
    {
        var h = new StackHarness(o => o.MaxRequestsInProgress = 1);
        var backend = new ConcurrentQueue<TaskCompletionSource<CoapResponse>>();
        var handled = new ConcurrentQueue<string>();
        h.Router.Map(CoapCode.Post, "/telemetry", ctx =>
        {
            handled.Enqueue(ctx.Peer);
            var reply = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            backend.Enqueue(reply);
            return new ValueTask<CoapResponse>(reply.Task);
        });

        h.Receive("a", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        h.Receive("b", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        h.Receive("c", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        Assert.Equal(["a"], handled);
        Assert.Equal(2, h.Server.Waiting);
        Assert.Equal(3, h.Server.InFlight);

        // A retransmission of a waiting CON is not processed a second time, and not answered yet (§4.5).
        h.Receive("b", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        Assert.Equal(2, h.Server.Waiting);
        Assert.True(h.NothingSent);

        Take(backend).SetResult(new CoapResponse(CoapCode.Created));
        var first = await h.NextAsync(expectedPeer: "a");
        Assert.Equal(CoapCode.Created, first.Code);
        await WaitUntil(() => backend.Count == 1);
        Assert.Equal(["a", "b"], handled); // the oldest waiting request got the slot

        Take(backend).SetResult(new CoapResponse(CoapCode.Created));
        Assert.Equal(CoapCode.Created, (await h.NextAsync(expectedPeer: "b")).Code);
        await WaitUntil(() => backend.Count == 1);
        Take(backend).SetResult(new CoapResponse(CoapCode.Created));
        Assert.Equal(CoapCode.Created, (await h.NextAsync(expectedPeer: "c")).Code);
        Assert.Equal(["a", "b", "c"], handled);
        await WaitUntil(() => h.Server.InFlight == 0);
        Assert.Equal(0, h.Server.Waiting);
    }

    [Fact]
    public async Task Past_the_waiting_line_a_request_gets_5_03_with_max_age_and_is_not_handled()
    {
        var h = new StackHarness(o =>
        {
            o.MaxRequestsInProgress = 1;
            o.MaxRequestsWaiting = 1;
            o.TooManyRequestsMaxAge = TimeSpan.FromSeconds(3);
        });
        var release = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
        {
            Interlocked.Increment(ref calls);
            return new ValueTask<CoapResponse>(release.Task);
        });

        h.Receive("a", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        h.Receive("b", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        var third = StackHarness.Con(CoapCode.Post, "/telemetry", 9, [9]);
        h.Receive("c", third);

        var refused = await h.NextAsync(expectedPeer: "c");
        Assert.Equal(CoapCode.ServiceUnavailable, refused.Code);
        Assert.Equal(CoapMessageType.Acknowledgement, refused.Type);
        Assert.Equal(9, refused.MessageId);
        Assert.Equal(3u, refused.MaxAge);
        Assert.Equal(1, calls);
        Assert.Equal(2, h.Server.InFlight); // the refused one is not counted

        // Its retransmission gets the same answer from the cache, not a second chance at the line.
        h.Receive("c", third);
        Assert.Equal(CoapSerializer.ToArray(refused), CoapSerializer.ToArray(await h.NextAsync(expectedPeer: "c")));

        release.SetResult(new CoapResponse(CoapCode.Created));
        Assert.Equal(CoapCode.Created, (await h.NextAsync(expectedPeer: "a")).Code);
        Assert.Equal(CoapCode.Created, (await h.NextAsync(expectedPeer: "b")).Code);
        Assert.Equal(2, calls);

        // Capacity again: a new request is served.
        h.Receive("c", StackHarness.Con(CoapCode.Post, "/telemetry", 10, [10]));
        Assert.Equal(CoapCode.Created, (await h.NextAsync(expectedPeer: "c")).Code);
    }

    [Fact]
    public async Task Inline_routes_are_not_held_back_by_a_full_bound()
    {
        var h = new StackHarness(o =>
        {
            o.MaxRequestsInProgress = 1;
            o.MaxRequestsWaiting = 0;
        });
        var release = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Router.Map(CoapCode.Post, "/telemetry", _ => new ValueTask<CoapResponse>(release.Task));
        h.Router.MapInline(CoapCode.Get, "/ping", _ => CoapResponse.Text(CoapCode.Content, "</telemetry>"));

        h.Receive("a", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        h.Receive("b", StackHarness.Con(CoapCode.Get, "/ping", 1, [1]));
        Assert.Equal(CoapCode.Content, (await h.NextAsync(expectedPeer: "b")).Code);

        release.SetResult(new CoapResponse(CoapCode.Created));
        Assert.Equal(CoapCode.Created, (await h.NextAsync(expectedPeer: "a")).Code);
    }

    [Fact]
    public async Task A_handler_that_throws_still_hands_its_slot_on()
    {
        var h = new StackHarness(o => o.MaxRequestsInProgress = 1);
        var first = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
            Interlocked.Increment(ref calls) == 1 ? new ValueTask<CoapResponse>(first.Task) : ValueTask.FromResult(new CoapResponse(CoapCode.Created)));

        h.Receive("a", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        h.Receive("b", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        first.SetException(new InvalidOperationException("backend down"));

        Assert.Equal(CoapCode.InternalServerError, (await h.NextAsync(expectedPeer: "a")).Code);
        Assert.Equal(CoapCode.Created, (await h.NextAsync(expectedPeer: "b")).Code);
    }

    [Fact]
    public async Task A_con_that_waits_past_the_separate_response_deadline_is_acknowledged_empty_while_it_waits()
    {
        var h = new StackHarness(o => o.MaxRequestsInProgress = 1);
        var release = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
            Interlocked.Increment(ref calls) == 1 ? new ValueTask<CoapResponse>(release.Task) : ValueTask.FromResult(new CoapResponse(CoapCode.Created)));

        h.Receive("a", StackHarness.Con(CoapCode.Post, "/telemetry", 1, [1]));
        h.Receive("b", StackHarness.Con(CoapCode.Post, "/telemetry", 2, [2]));
        Assert.Equal(1, h.Server.Waiting);

        // §5.2.2, counted from arrival: both get their empty ACK at 1 s, b although its handler has not started.
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var acks = new[] { await h.NextAsync(expectedPeer: null), await h.NextAsync(expectedPeer: null) };
        Assert.All(acks, ack => Assert.True(ack.Code.IsEmpty && ack.Type == CoapMessageType.Acknowledgement));
        Assert.Equal([1, 2], acks.Select(a => (int)a.MessageId).Order());
        Assert.Equal(1, calls);
        // b's retransmission is answered with that empty ACK, and b is still not run twice.
        h.Receive("b", StackHarness.Con(CoapCode.Post, "/telemetry", 2, [2]));
        Assert.True((await h.NextAsync(expectedPeer: "b")).Code.IsEmpty);

        release.SetResult(new CoapResponse(CoapCode.Created));
        var responses = new[] { await h.NextAsync(expectedPeer: null), await h.NextAsync(expectedPeer: null) };
        Assert.All(responses, r => Assert.Equal((CoapMessageType.Confirmable, CoapCode.Created), (r.Type, r.Code)));
        Assert.Equal(2, calls);
    }

    private static TaskCompletionSource<CoapResponse> Take(ConcurrentQueue<TaskCompletionSource<CoapResponse>> backend) =>
        backend.TryDequeue(out var reply) ? reply : throw new InvalidOperationException("no request at the backend");

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }
}
