using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Tests.Transport.Dtls;

public sealed class DtlsRecordHeaderTests
{
    [Fact]
    public void Reads_a_ClientHello_record_header()
    {
        // handshake, DTLS 1.0, epoch 0, seq 0x000000000102, length 3, msg_type 1 (client_hello)
        byte[] datagram = [22, 0xFE, 0xFF, 0, 0, 0, 0, 0, 0, 1, 2, 0, 3, 1, 0, 0];

        Assert.True(DtlsRecordHeader.TryRead(datagram, out var header, out var isClientHello));
        Assert.True(isClientHello);
        Assert.Equal(0, header.Epoch);
        Assert.Equal(0x102, header.SequenceNumber);
        Assert.Equal(3, header.FragmentLength);
    }

    [Theory]
    [InlineData(new byte[] { 23, 0xFE, 0xFD, 0, 1 })]                                      // too short
    [InlineData(new byte[] { 99, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0 })]               // unknown content type
    [InlineData(new byte[] { 23, 0x03, 0x03, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0 })]               // TLS, not DTLS
    [InlineData(new byte[] { 23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 9, 1, 2 })]         // fragment longer than datagram
    public void Rejects_malformed_headers(byte[] datagram)
    {
        Assert.False(DtlsRecordHeader.TryRead(datagram, out _, out _));
    }

    [Fact]
    public void Replay_window_drops_duplicates_and_records_older_than_64()
    {
        var window = default(ReplayWindow);
        Assert.False(window.IsReplay(10));
        window.Mark(10);
        window.Mark(12);

        Assert.True(window.IsReplay(10));
        Assert.True(window.IsReplay(12));
        Assert.False(window.IsReplay(11));
        Assert.False(window.IsReplay(13));

        window.Mark(100);
        Assert.True(window.IsReplay(36));
        Assert.False(window.IsReplay(37));
    }
}
