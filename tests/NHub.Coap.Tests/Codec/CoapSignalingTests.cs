namespace NHub.Coap.Tests.Codec;

/// <summary>RFC 8323 §5 signaling messages: CSM, Ping/Pong, Release, Abort.</summary>
public sealed class CoapSignalingTests
{
    [Fact]
    public void A_csm_carries_max_message_size_and_bert()
    {
        var csm = CoapSignaling.Csm(8192, blockWiseTransfer: true);
        Assert.Equal(CoapParseError.None, CoapSignaling.TryParse(csm, out var signal));
        Assert.Equal(CoapSignalCode.Csm, signal.Code);
        Assert.Equal(8192u, signal.MaxMessageSize);
        Assert.True(signal.BlockWiseTransfer);
        Assert.Null(signal.UnknownCriticalOption);
    }

    [Fact]
    public void An_unknown_critical_option_is_reported_and_an_unknown_elective_one_ignored()
    {
        var message = new CoapMessage { Code = CoapSignalCode.Csm, Type = CoapMessageType.NonConfirmable };
        message.AddOption(new CoapOption(6, ReadOnlyMemory<byte>.Empty)); // elective (even), unknown
        message.AddOption(new CoapOption(9, ReadOnlyMemory<byte>.Empty)); // critical (odd), unknown
        Assert.Equal(CoapParseError.None, CoapSignaling.TryParse(CoapSerializer.ToArray(message), out var signal));
        Assert.Equal(9, signal.UnknownCriticalOption);
    }

    [Fact]
    public void Pong_keeps_the_ping_token_and_abort_its_diagnostic()
    {
        Assert.Equal(CoapParseError.None, CoapSignaling.TryParse(CoapSignaling.Pong(new byte[] { 9, 8 }), out var pong));
        Assert.Equal(CoapSignalCode.Pong, pong.Code);
        Assert.Equal(new byte[] { 9, 8 }, pong.Token.ToArray());

        Assert.Equal(CoapParseError.None, CoapSignaling.TryParse(CoapSignaling.Abort("bad CSM", 2), out var abort));
        Assert.Equal(CoapSignalCode.Abort, abort.Code);
        Assert.Equal("bad CSM", abort.Diagnostic);

        Assert.Equal(CoapParseError.None, CoapSignaling.TryParse(CoapSignaling.Release("going away", 30), out var release));
        Assert.Equal(30u, release.HoldOff);
        Assert.Equal("going away", release.Diagnostic);
    }

    [Fact]
    public void A_request_is_not_a_signal_and_class_7_is_still_reserved_on_udp()
    {
        var get = CoapSerializer.ToArray(new CoapMessage { Code = CoapCode.Get, Type = CoapMessageType.Confirmable });
        Assert.NotEqual(CoapParseError.None, CoapSignaling.TryParse(get, out _));
        Assert.Equal(CoapParseError.ReservedCodeClass, CoapParser.TryParse(CoapSignaling.Csm(1152, false), new CoapMessage()));
    }
}
