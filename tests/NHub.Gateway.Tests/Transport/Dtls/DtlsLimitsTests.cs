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

/// <summary>Bounds: the per-IP handshake rate, the peer cap, and a thread count that does not grow with sessions.</summary>
public sealed class DtlsLimitsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Authenticated_handshakes_give_their_token_back_and_failing_ones_are_refused_beyond_the_per_ip_rate()
    {
        await using var server = new DtlsServerHarness(o =>
        {
            o.HandshakeBurstPerIp = 2;
            o.HandshakesPerSecondPerIp = 0.01;
        });
        // A carrier NAT: many honest devices behind one address, one after the other, far more than the burst.
        var honest = new List<BcDtlsClient>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                honest.Add(BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key));
            }
            Assert.Equal(0, server.Meters.Total("nhub.dtls.handshakes", "result", "rate_limited"));

            // Failing handshakes (a wrong key) keep their token: after the burst the address is refused, right key or not.
            for (var i = 0; i < 2; i++)
            {
                Assert.ThrowsAny<Exception>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, "not-the-key-0123456789", handshakeTimeoutMillis: 3000));
            }
            Assert.ThrowsAny<Exception>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, handshakeTimeoutMillis: 1500));
            Assert.True(server.Meters.Total("nhub.dtls.handshakes", "result", "rate_limited") >= 1);
        }
        finally
        {
            foreach (var client in honest)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task Peers_beyond_MaxPeers_are_refused()
    {
        await using var server = new DtlsServerHarness(o => o.MaxPeers = 1);
        using var a = BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key);

        Assert.ThrowsAny<Exception>(() => BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key, handshakeTimeoutMillis: 1500));

        Assert.True(server.Meters.Total("nhub.dtls.handshakes", "result", "max_peers") >= 1);
    }

    [Fact]
    public async Task Threads_stay_flat_with_500_sessions()
    {
        const int Sessions = 500;
        await using var server = new DtlsServerHarness(o =>
        {
            o.HandshakesPerSecondPerIp = 1_000_000;
            o.HandshakeBurstPerIp = 1_000_000;
        });
        var clients = new List<BcDtlsClient>(Sessions);
        try
        {
            clients.Add(BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key));
            Assert.NotNull(clients[0].Exchange(EchoCoapReceiver.Request(0)));
            using var process = Process.GetCurrentProcess();
            process.Refresh();
            var threadsBefore = process.Threads.Count;
            var rssBefore = process.WorkingSet64;

            var watch = Stopwatch.StartNew();
            for (var i = 1; i < Sessions; i++)
            {
                clients.Add(BcDtlsClient.Connect(server.EndPoint, DtlsServerHarness.Identity, DtlsServerHarness.Key));
            }
            var handshakeTime = watch.Elapsed;
            watch.Restart();
            for (var i = 0; i < Sessions; i++)
            {
                Assert.NotNull(clients[i].Exchange(EchoCoapReceiver.Request((ushort)i)));
            }
            var exchangeTime = watch.Elapsed;

            process.Refresh();
            var threadsAfter = process.Threads.Count;
            output.WriteLine($"{Sessions} sessions: handshakes {handshakeTime.TotalMilliseconds:F0} ms ({(Sessions - 1) / handshakeTime.TotalSeconds:F0}/s, client in-process), " +
                $"{Sessions} round trips {exchangeTime.TotalMilliseconds:F0} ms; threads {threadsBefore} -> {threadsAfter}; " +
                $"RSS {rssBefore / 1048576} -> {process.WorkingSet64 / 1048576} MiB");
            Assert.Equal(Sessions, server.Transport.SessionCount);
            // A thread per session would add ~500; what remains is thread-pool and test-host noise.
            Assert.InRange(threadsAfter - threadsBefore, -50, 50);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
