using System.Text;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

public sealed class MessageLayerTests
{
    [Fact]
    public async Task A_retransmitted_con_is_processed_once_and_answered_from_the_cache()
    {
        var h = new StackHarness();
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapResponse(CoapCode.Created));
        });
        var request = StackHarness.Con(CoapCode.Post, "/telemetry", 0x1001);
        request.Payload = "{}"u8.ToArray();

        h.Receive("client", request);
        var first = await h.NextAsync();
        h.Receive("client", request); // the client did not see the ACK and retransmits (§4.2)
        var second = await h.NextAsync();

        Assert.Equal(1, calls);
        Assert.Equal(CoapMessageType.Acknowledgement, first.Type);
        Assert.Equal(CoapCode.Created, first.Code);
        Assert.Equal(0x1001, first.MessageId);
        Assert.Equal(CoapSerializer.ToArray(first), CoapSerializer.ToArray(second));
    }

    [Fact]
    public async Task A_message_id_and_token_reused_with_other_content_is_processed_again_under_another_exchange_id()
    {
        // A plain-CoAP device that rebooted restarts its message-id counter and token generator: from the same
        // address and port its first request after boot repeats an id and token of its last session, but not its
        // content. RFC 7252 §4.2 makes only the same message a retransmission, so it is processed, and it gets an
        // exchange id of its own (the telemetry's JetStream message id), so it is stored, not taken for a duplicate.
        var h = new StackHarness();
        var exchanges = new List<string>();
        h.Router.Map(CoapCode.Post, "/telemetry", ctx =>
        {
            lock (exchanges)
            {
                exchanges.Add(ctx.ExchangeId);
            }
            return ValueTask.FromResult(new CoapResponse(CoapCode.Created));
        });
        var before = StackHarness.Con(CoapCode.Post, "/telemetry", 0x2001, [9, 9]);
        before.Payload = "{\"t\":1}"u8.ToArray();
        var after = StackHarness.Con(CoapCode.Post, "/telemetry", 0x2001, [9, 9]);
        after.Payload = "{\"t\":2}"u8.ToArray();

        h.Receive("client", before);
        await h.NextAsync();
        h.Receive("client", after);
        await h.NextAsync();
        h.Receive("client", after); // and its own retransmission is still answered from the cache
        await h.NextAsync();

        Assert.Equal(2, exchanges.Count);
        Assert.NotEqual(exchanges[0], exchanges[1]);
        Assert.All(exchanges, e => Assert.StartsWith("client/8193/0909/", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_same_message_id_from_another_peer_is_a_different_exchange()
    {
        var h = new StackHarness();
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapResponse(CoapCode.Created));
        });
        h.Receive("client", StackHarness.Con(CoapCode.Post, "/telemetry", 7));
        h.Receive("other", StackHarness.Con(CoapCode.Post, "/telemetry", 7));
        await h.NextAsync("client");
        await h.NextAsync("other");
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_message_id_is_forgotten_after_exchange_lifetime()
    {
        var h = new StackHarness();
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/t", _ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapResponse(CoapCode.Created));
        });
        h.Receive("client", StackHarness.Con(CoapCode.Post, "/t", 9));
        await h.NextAsync();
        h.Time.Advance(TimeSpan.FromSeconds(248)); // EXCHANGE_LIFETIME is 247 s
        h.Receive("client", StackHarness.Con(CoapCode.Post, "/t", 9));
        await h.NextAsync();
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_ping_is_answered_with_reset()
    {
        var h = new StackHarness();
        h.Receive("client", StackHarness.Empty(CoapMessageType.Confirmable, 0x4242));
        var rst = await h.NextAsync();
        Assert.Equal(CoapMessageType.Reset, rst.Type);
        Assert.Equal(0x4242, rst.MessageId);
        Assert.True(rst.Code.IsEmpty);
    }

    [Fact]
    public async Task An_unparseable_con_gets_reset_and_an_unparseable_non_or_ack_is_ignored()
    {
        var h = new StackHarness();
        h.ReceiveRaw("client", Convert.FromHexString("40011234F0")); // CON, bad option nibble
        var rst = await h.NextAsync();
        Assert.Equal(CoapMessageType.Reset, rst.Type);
        Assert.Equal(0x1234, rst.MessageId);

        h.ReceiveRaw("client", Convert.FromHexString("50011235F0")); // NON
        h.ReceiveRaw("client", Convert.FromHexString("60451236F0")); // ACK
        h.ReceiveRaw("client", Convert.FromHexString("0102"));       // not CoAP
        Assert.True(h.NothingSent);
    }

    [Fact]
    public async Task An_unknown_critical_option_is_4_02_and_unknown_paths_and_methods_are_4_04_and_4_05()
    {
        var h = new StackHarness();
        h.Router.Map(CoapCode.Post, "/telemetry", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Created)));
        var critical = StackHarness.Con(CoapCode.Post, "/telemetry", 1);
        critical.AddOption(new CoapOption(9, new byte[] { 1 }));
        h.Receive("client", critical);
        Assert.Equal(CoapCode.BadOption, (await h.NextAsync()).Code);

        h.Receive("client", StackHarness.Con(CoapCode.Get, "/nope", 2));
        Assert.Equal(CoapCode.NotFound, (await h.NextAsync()).Code);

        h.Receive("client", StackHarness.Con(CoapCode.Get, "/telemetry", 3));
        var notAllowed = await h.NextAsync();
        Assert.Equal(CoapCode.MethodNotAllowed, notAllowed.Code);
        Assert.Contains("GET", Encoding.UTF8.GetString(notAllowed.Payload.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Well_known_core_lists_the_described_resources_in_link_format()
    {
        var h = new StackHarness();
        h.Router.Map(CoapCode.Post, "/telemetry", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Created)), new ResourceDescription("Telemetry", "nhub.telemetry"));
        h.Router.Map(CoapCode.Get, "/commands/{device_id}", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Content)), new ResourceDescription(ResourceType: "nhub.commands", Observable: true, ContentFormat: 50));
        h.Receive("client", StackHarness.Con(CoapCode.Get, "/.well-known/core", 5));
        var response = await h.NextAsync();
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal(ContentFormats.LinkFormat, response.ContentFormat);
        Assert.Equal("</telemetry>;rt=\"nhub.telemetry\";title=\"Telemetry\",</commands/{device_id}>;rt=\"nhub.commands\";ct=50;obs",
            Encoding.UTF8.GetString(response.Payload.Span));

        var filtered = StackHarness.Con(CoapCode.Get, "/.well-known/core", 6);
        filtered.AddQuery("rt=nhub.comm*");
        h.Receive("client", filtered);
        Assert.StartsWith("</commands/", Encoding.UTF8.GetString((await h.NextAsync()).Payload.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_handler_gets_an_empty_ack_then_a_confirmable_separate_response()
    {
        var h = new StackHarness();
        var release = MapSlow(h);
        h.Receive("client", StackHarness.Con(CoapCode.Post, "/slow", 0x2000, [7, 7]));
        Assert.True(h.NothingSent);

        h.Time.Advance(TimeSpan.FromSeconds(1)); // SeparateResponseAfter
        var ack = await h.NextAsync();
        Assert.Equal(CoapMessageType.Acknowledgement, ack.Type);
        Assert.True(ack.Code.IsEmpty);
        Assert.Equal(0x2000, ack.MessageId);

        // §5.2.2: a retransmitted request now gets the empty ACK again.
        h.Receive("client", StackHarness.Con(CoapCode.Post, "/slow", 0x2000, [7, 7]));
        Assert.True((await h.NextAsync()).Code.IsEmpty);

        release.SetResult(new CoapResponse(CoapCode.Created));
        var separate = await h.NextAsync();
        Assert.Equal(CoapMessageType.Confirmable, separate.Type);
        Assert.Equal(CoapCode.Created, separate.Code);
        Assert.Equal(new byte[] { 7, 7 }, separate.Token.ToArray());

        h.Receive("client", StackHarness.Empty(CoapMessageType.Acknowledgement, separate.MessageId));
        Assert.Equal(0, h.Server.Confirmables.Count);
    }

    [Fact]
    public async Task A_handler_that_fails_after_its_empty_ack_sends_the_error_as_a_separate_con()
    {
        var h = new StackHarness();
        var backend = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Router.Map(CoapCode.Post, "/telemetry", _ => new ValueTask<CoapResponse>(backend.Task));

        h.Receive("client", StackHarness.Con(CoapCode.Post, "/telemetry", 7, [7]));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await h.NextAsync()).Code.IsEmpty);

        // The client ignores a second ACK for message 7 (§5.2.2): the 5.00 must come as a CON of its own.
        backend.SetException(new InvalidOperationException("backend down"));
        var error = await h.NextAsync();
        Assert.Equal(CoapMessageType.Confirmable, error.Type);
        Assert.Equal(CoapCode.InternalServerError, error.Code);
        Assert.Equal(new byte[] { 7 }, error.Token.ToArray());
    }

    [Fact]
    public async Task A_handler_that_answers_before_the_deadline_piggybacks_and_no_empty_ack_follows_it()
    {
        var h = new StackHarness();
        var release = MapSlow(h);
        h.Receive("client", StackHarness.Con(CoapCode.Post, "/slow", 0x2100, [8]));
        h.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.True(h.NothingSent);

        release.SetResult(new CoapResponse(CoapCode.Created));
        var piggybacked = await h.NextAsync();
        Assert.Equal(CoapMessageType.Acknowledgement, piggybacked.Type);
        Assert.Equal(CoapCode.Created, piggybacked.Code);
        Assert.Equal(0x2100, piggybacked.MessageId);

        // The request's deadline passes after it was answered: nothing more goes out, nothing waits for an ACK.
        h.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(h.NothingSent);
        Assert.Equal(0, h.Server.Confirmables.Count);
    }

    [Fact]
    public async Task Many_slow_requests_each_get_their_empty_ack_at_their_own_deadline()
    {
        var h = new StackHarness();
        var release = MapSlow(h);
        h.Receive("a", StackHarness.Con(CoapCode.Post, "/slow", 1, [1]));
        h.Time.Advance(TimeSpan.FromMilliseconds(500));
        h.Receive("b", StackHarness.Con(CoapCode.Post, "/slow", 2, [2]));

        h.Time.Advance(TimeSpan.FromMilliseconds(500)); // a's deadline, not b's
        var first = await h.NextAsync("a");
        Assert.True(first.Code.IsEmpty);
        Assert.Equal(1, first.MessageId);
        Assert.True(h.NothingSent);

        h.Time.Advance(TimeSpan.FromMilliseconds(500));
        var second = await h.NextAsync("b");
        Assert.True(second.Code.IsEmpty);
        Assert.Equal(2, second.MessageId);
        release.SetResult(new CoapResponse(CoapCode.Created));
        // Both responses follow as separate confirmables, one to each client (in either order).
        Assert.Equal(CoapMessageType.Confirmable, (await h.NextAsync(null)).Type);
        Assert.Equal(CoapMessageType.Confirmable, (await h.NextAsync(null)).Type);
    }

    [Fact]
    public async Task Confirmables_are_retransmitted_with_exponential_backoff_then_given_up()
    {
        var h = new StackHarness();
        ConfirmableOutcome? outcome = null;
        h.Server.Confirmables.Send("client", 77, StackHarness.Empty(CoapMessageType.Confirmable, 77) is var m ? CoapSerializer.ToArray(m) : [], o => outcome = o);
        await h.NextAsync();

        // Initial timeout is random in [2 s, 3 s) (ACK_TIMEOUT × [1, ACK_RANDOM_FACTOR]), then doubles: 4 retransmissions.
        h.Time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.True(h.NothingSent);
        var timeout = TimeSpan.FromSeconds(3);
        for (var i = 1; i <= 4; i++)
        {
            h.Time.Advance(timeout);
            await h.NextAsync();
            Assert.True(h.NothingSent);
            timeout *= 2;
        }
        Assert.Null(outcome);
        h.Time.Advance(timeout);
        Assert.Equal(ConfirmableOutcome.TimedOut, outcome);
        Assert.True(h.NothingSent);
        Assert.Equal(4, h.Server.Confirmables.RetransmissionsSent);
    }

    [Fact]
    public async Task Per_peer_dedup_state_is_capped()
    {
        var h = new StackHarness(o => o.MaxDedupEntriesPerPeer = 4);
        h.Router.Map(CoapCode.Post, "/t", _ => ValueTask.FromResult(new CoapResponse(CoapCode.Created)));
        for (ushort mid = 0; mid < 10; mid++)
        {
            h.Receive("client", StackHarness.Con(CoapCode.Post, "/t", mid));
            await h.NextAsync();
        }
        Assert.Equal(4, h.Server.Deduplicator.Count);
    }

    [Fact]
    public async Task No_response_suppresses_the_named_classes_but_a_con_is_still_acknowledged()
    {
        // RFC 7967: No-Response 2 = "not interested in 2.xx". A NON telemetry POST then gets nothing; a CON an empty ACK.
        var h = new StackHarness();
        var calls = 0;
        h.Router.Map(CoapCode.Post, "/telemetry", _ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapResponse(CoapCode.Created));
        });
        var non = new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Post, MessageId = 1, NoResponse = 2 }.SetUriPath("/telemetry");
        h.Receive("client", non);
        var con = StackHarness.Con(CoapCode.Post, "/telemetry", 2);
        con.NoResponse = 2;
        h.Receive("client", con);
        var ack = await h.NextAsync();
        Assert.Equal(CoapMessageType.Acknowledgement, ack.Type);
        Assert.True(ack.Code.IsEmpty);
        Assert.Equal(2, ack.MessageId);
        Assert.True(h.NothingSent);
        Assert.Equal(2, calls);

        var errors = StackHarness.Con(CoapCode.Post, "/nope", 3);
        errors.NoResponse = 2; // 4.04 is not suppressed
        h.Receive("client", errors);
        Assert.Equal(CoapCode.NotFound, (await h.NextAsync()).Code);
    }

    /// <summary>POST /slow, answered when the test completes the returned source.</summary>
    private static TaskCompletionSource<CoapResponse> MapSlow(StackHarness h)
    {
        var release = new TaskCompletionSource<CoapResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Router.Map(CoapCode.Post, "/slow", _ => new ValueTask<CoapResponse>(release.Task));
        return release;
    }
}
