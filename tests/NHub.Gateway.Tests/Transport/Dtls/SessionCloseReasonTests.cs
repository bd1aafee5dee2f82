using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The log spells each close reason as it did when the reasons were string literals (operators search for them).</summary>
public sealed class SessionCloseReasonTests
{
    [Theory]
    [InlineData(SessionCloseReason.CloseNotify, "close_notify")]
    [InlineData(SessionCloseReason.Failed, "failed")]
    [InlineData(SessionCloseReason.SendFailed, "send_failed")]
    [InlineData(SessionCloseReason.Revoked, "revoked")]
    [InlineData(SessionCloseReason.Idle, "idle")]
    [InlineData(SessionCloseReason.HandshakeStuck, "handshake_stuck")]
    [InlineData(SessionCloseReason.Replaced, "replaced")]
    [InlineData(SessionCloseReason.AddressTaken, "address_taken")]
    [InlineData(SessionCloseReason.Shutdown, "shutdown")]
    [InlineData(SessionCloseReason.Moved, "moved")]
    [InlineData(SessionCloseReason.SequenceExhausted, "sequence_exhausted")]
    internal void Each_reason_keeps_its_log_string(SessionCloseReason reason, string expected)
    {
        Assert.Equal(expected, DtlsLog.CloseReasonTag(reason));
    }

    [Fact]
    public void Every_reason_has_its_own_string()
    {
        var tags = Enum.GetValues<SessionCloseReason>().Select(DtlsLog.CloseReasonTag).ToList();
        Assert.Equal(11, tags.Count);
        Assert.Equal(tags.Count, tags.Distinct(StringComparer.Ordinal).Count());
    }
}
