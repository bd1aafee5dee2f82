using System.Buffers;
using System.Text;
using NHub.Silo.Infrastructure;

namespace NHub.Platform.Tests;

/// <summary>The telemetry publisher's reading of JetStream's publish acks (the only thing it answers 2.01 on).</summary>
public sealed class JetStreamPubAckTests
{
    private static JetStreamPubAck Parse(string json) => JetStreamPubAck.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void A_stored_message_names_its_stream_and_sequence()
    {
        var ack = Parse("""{"stream":"NHUB_TELEMETRY","seq":42,"domain":"hub"}""");
        Assert.True(ack.Stored);
        Assert.False(ack.Duplicate);
        Assert.Equal("NHUB_TELEMETRY", ack.Stream);
        Assert.Equal(42UL, ack.Sequence);
    }

    [Fact]
    public void A_duplicate_is_stored_and_flagged()
    {
        var ack = Parse("""{"stream":"NHUB_TELEMETRY","seq":42,"duplicate":true}""");
        Assert.True(ack.Stored);
        Assert.True(ack.Duplicate);
    }

    [Fact]
    public void An_error_is_not_stored_even_with_a_stream_name()
    {
        var ack = Parse("""{"stream":"NHUB_TELEMETRY","error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}""");
        Assert.False(ack.Stored);
        Assert.Equal(503, ack.ErrorCode);
        Assert.Equal("maximum messages exceeded", ack.Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"stream\":")]
    [InlineData("{\"seq\":-1,\"stream\":\"S\"}")]
    [InlineData("{}")]
    public void Anything_else_is_not_stored(string json) => Assert.False(Parse(json).Stored);

    [Fact]
    public void Unknown_fields_of_any_shape_are_skipped()
    {
        var ack = Parse("""{"future":{"a":[1,2,{"b":null}]},"stream":"S","val":"x","seq":7,"batch":[1]}""");
        Assert.True(ack.Stored);
        Assert.Equal(7UL, ack.Sequence);
    }
}
