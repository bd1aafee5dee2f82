using System.Diagnostics;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>
/// <see cref="CoapExchangeTracing"/>: one Server activity per processed request, current in the handler (so the
/// handler's outgoing calls are its children), never left current on the caller's thread, ended after the response
/// is sent with its code; nothing started or allocated while nobody listens.
/// </summary>
public sealed class ExchangeTracingTests
{
    [Fact]
    public async Task A_request_is_one_server_activity_current_in_the_handler_and_ended_with_the_response_code()
    {
        using var source = new ActivitySource("test.coap." + Guid.NewGuid().ToString("N"));
        var stopped = new List<Activity>();
        using var listener = Listen(source, stopped);
        var tracing = new CoapExchangeTracing(source, "dtls");
        var h = new StackHarness(tracing: tracing);
        var release = new TaskCompletionSource();
        Activity? inHandler = null;
        h.Router.Map(CoapCode.Post, "/telemetry", async _ =>
        {
            inHandler = Activity.Current;
            await release.Task;
            return new CoapResponse(CoapCode.Created);
        });

        Assert.Null(Activity.Current);
        h.Receive("client", StackHarness.Con(CoapCode.Post, "/telemetry", 0x3001));
        // The handler is still waiting: the caller's thread (a transport's receive loop) has no current activity.
        Assert.Null(Activity.Current);
        Assert.NotNull(inHandler);
        Assert.Empty(stopped);

        release.SetResult();
        var response = await h.NextAsync();
        Assert.Equal(CoapCode.Created, response.Code);
        await WaitUntilAsync(() => Count(stopped) == 1);

        var exchange = Assert.Single(stopped);
        Assert.Same(exchange, inHandler);
        Assert.Equal(CoapExchangeTracing.ActivityName, exchange.OperationName);
        Assert.Equal(ActivityKind.Server, exchange.Kind);
        Assert.Equal("POST /telemetry", exchange.DisplayName);
        Assert.Equal("POST", exchange.GetTagItem(CoapExchangeTracing.MethodTag));
        Assert.Equal("/telemetry", exchange.GetTagItem(CoapExchangeTracing.RouteTag));
        Assert.Equal("2.01", exchange.GetTagItem(CoapExchangeTracing.ResponseCodeTag));
        Assert.Equal("dtls", exchange.GetTagItem(CoapExchangeTracing.TransportTag));
        Assert.Equal(ActivityStatusCode.Unset, exchange.Status);
    }

    [Fact]
    public async Task An_unknown_path_has_no_route_and_a_server_error_marks_the_activity_failed()
    {
        using var source = new ActivitySource("test.coap." + Guid.NewGuid().ToString("N"));
        var stopped = new List<Activity>();
        using var listener = Listen(source, stopped);
        var h = new StackHarness(tracing: new CoapExchangeTracing(source, "udp"));
        h.Router.Map(CoapCode.Get, "/broken", _ => throw new InvalidOperationException("boom"));

        h.Receive("client", StackHarness.Con(CoapCode.Get, "/nowhere", 0x3002));
        Assert.Equal(CoapCode.NotFound, (await h.NextAsync()).Code);
        h.Receive("client", StackHarness.Con(CoapCode.Get, "/broken", 0x3003));
        Assert.Equal(CoapCode.InternalServerError, (await h.NextAsync()).Code);
        await WaitUntilAsync(() => Count(stopped) == 2);

        var notFound = stopped[0];
        Assert.Equal("GET", notFound.DisplayName);
        Assert.Null(notFound.GetTagItem(CoapExchangeTracing.RouteTag));
        Assert.Equal("4.04", notFound.GetTagItem(CoapExchangeTracing.ResponseCodeTag));
        var failed = stopped[1];
        Assert.Equal("5.00", failed.GetTagItem(CoapExchangeTracing.ResponseCodeTag));
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
    }

    [Fact]
    public void Without_a_listener_tracing_allocates_nothing_on_the_inline_request_path()
    {
        using var source = new ActivitySource("test.coap." + Guid.NewGuid().ToString("N"));
        var without = BytesPerRequest(null);
        var with = BytesPerRequest(new CoapExchangeTracing(source, "udp"));
        Assert.InRange(with, 0, without + 1);
    }

    private static double BytesPerRequest(CoapExchangeTracing? tracing)
    {
        var server = new CoapServer<string>(new CoapServerOptions { MaxDedupEntriesPerPeer = 64 }, new CoapRouter<string>(), (_, _) => true,
            TimeProvider.System, tracing: tracing);
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
        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(server.TryProcessInline("client", datagram.AsMemory(0, Write())));
        }
        const int requests = 10_000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < requests; i++)
        {
            server.TryProcessInline("client", datagram.AsMemory(0, Write()));
        }
        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)requests;
    }

    private static ActivityListener Listen(ActivitySource source, List<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => ReferenceEquals(s, source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (stopped)
                {
                    stopped.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private static int Count(List<Activity> stopped)
    {
        lock (stopped)
        {
            return stopped.Count;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the activity to end");
            await Task.Yield();
        }
    }
}
