using System.Diagnostics;
using System.Text.Json.Nodes;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// Handshake storm: --handshake-threads threads each repeat "new socket (a new peer to the server), full DTLS PSK
/// handshake with the cookie exchange (RFC 6347 §4.2.1), close_notify" until the deadline, cycling through the
/// devices' credentials. Counts full handshakes per second and failures by alert.
/// </summary>
internal sealed class HandshakeStormScenario : IScenario
{
    private long _attempts;
    private long _resumed;

    public string Unit => "handshakes";

    public Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        if (!context.Options.Dtls)
        {
            throw new ArgumentException("--scenario handshakes needs --transport dtls (a coaps:// target)");
        }
        return Task.CompletedTask;
    }

    public Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct)
    {
        var pool = context.Handshakes;
        var threads = new Task[context.Options.HandshakeThreads];
        for (var t = 0; t < threads.Length; t++)
        {
            var first = t;
            threads[t] = Task.Factory.StartNew(() =>
            {
                var n = first;
                Org.BouncyCastle.Tls.TlsSession? previous = null;
                while (Stopwatch.GetTimestamp() < deadlineTimestamp && !ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _attempts);
                    using var device = context.NewDevice(n, context.Options.Resume ? previous : null);
                    n += threads.Length;
                    try
                    {
                        device.Open();
                    }
                    catch (System.Net.Sockets.SocketException ex)
                    {
                        pool.Failures.Add("socket_" + ex.SocketErrorCode);
                        continue;
                    }
                    if (pool.HandshakeNow(device))
                    {
                        previous = device.TlsSession ?? previous;
                        if (device.Resumed)
                        {
                            Interlocked.Increment(ref _resumed);
                        }
                        // close_notify, so the server frees the peer at once (as a device going to sleep politely would);
                        // with --close-notify off the session stays with the server, as a device's would.
                        device.Close(notify: context.Options.CloseNotify);
                    }
                }
            }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        return Task.WhenAll(threads);
    }

    public long Count(RunContext context) => context.Handshakes.Completed;

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
        result["handshake_attempts"] = Interlocked.Read(ref _attempts);
        result["resumed"] = Interlocked.Read(ref _resumed);
        if (context.Options.Resume)
        {
            summary.Add($"resumed {Interlocked.Read(ref _resumed)} of {context.Handshakes.Completed} handshakes");
        }
    }
}
