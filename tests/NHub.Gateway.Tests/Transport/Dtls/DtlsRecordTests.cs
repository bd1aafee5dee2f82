using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Tests.Support;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;
using Org.BouncyCastle.Tls;
using Xunit.Abstractions;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>Records on an established session: junk, forgeries, records without data, replays.</summary>
public sealed class DtlsRecordTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Junk_forged_records_and_data_without_a_session_are_dropped_and_the_session_survives()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));

        // From the session's own address: garbage, a forged epoch-1 record (bad MAC), a wrong epoch, a truncated header.
        client.Socket.Send(DtlsWire.RandomBytes(100));
        client.Socket.Send(DtlsWire.Record(23, epoch: 1, sequence: 50, DtlsWire.RandomBytes(40)));
        client.Socket.Send(DtlsWire.Record(23, epoch: 7, sequence: 51, DtlsWire.RandomBytes(40)));
        client.Socket.Send(new byte[] { 23, 0xFE, 0xFD, 0 });
        // From elsewhere: application data with no session.
        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            stranger.SendTo(DtlsWire.Record(23, epoch: 1, sequence: 1, DtlsWire.RandomBytes(40)), server.EndPoint);
        }
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "no_session") == 1, Wait, "the stranger's record");

        var answer = client.Exchange(EchoCoapReceiver.Request(2, "still here"u8));
        Assert.EndsWith("ok:still here", Encoding.ASCII.GetString(answer!), StringComparison.Ordinal);
        Assert.Equal(1, server.Transport.SessionCount);
        output.WriteLine(server.Meters.Dump());
        Assert.True(server.Meters.Total("nhub.dtls.records.dropped", "reason", "malformed") >= 2);
        Assert.Equal(1, server.Meters.Total("nhub.dtls.records.dropped", "reason", "epoch"));
    }

    [Fact]
    public async Task Records_without_application_data_neither_stall_the_receive_loop_nor_end_the_session()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(1)));
        const int Count = 500;

        // Epoch-0 handshake records from the session's address look like the client's last flight again: the session
        // answers with its own last flight (at most once a second) and delivers nothing.
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < Count; i++)
        {
            client.Socket.Send(DtlsWire.Record(22, epoch: 0, sequence: 1000 + i, [20, 0, 0, 12, 0, 9, 0, 0, 0, 0, 0, 12, .. DtlsWire.RandomBytes(12)]));
        }
        var answer = client.Exchange(EchoCoapReceiver.Request(2, "after"u8));
        output.WriteLine($"{Count} no-data records then a round trip: {watch.Elapsed.TotalMilliseconds:F1} ms");

        Assert.EndsWith("ok:after", Encoding.ASCII.GetString(answer!), StringComparison.Ordinal);
        Assert.Equal(1, server.Transport.SessionCount);
        // Each was seen as a record without data (none reached the CoAP layer: only the two requests did).
        Assert.Equal(Count, server.Meters.Total("nhub.dtls.records.without_data"));
        Assert.Equal(2, server.Receiver.Datagrams);
    }

    [Fact]
    public async Task A_replayed_record_is_dropped_before_the_record_layer()
    {
        await using var server = new DtlsServerHarness();
        using var client = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(7, "once"u8)));
        var sniffed = client.LastSent!;
        var before = server.Receiver.Datagrams;

        client.Socket.Send(sniffed); // an attacker replaying captured ciphertext from the device's address
        await server.Meters.WaitForAsync(m => m.Total("nhub.dtls.records.dropped", "reason", "replay") == 1, Wait, "the replay drop");

        Assert.Equal(before, server.Receiver.Datagrams);
        Assert.NotNull(client.Exchange(EchoCoapReceiver.Request(8, "fresh"u8)));
    }
}
