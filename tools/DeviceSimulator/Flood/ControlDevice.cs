using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NHub.Coap;
using NHub.DeviceSimulator.Metrics;

namespace NHub.DeviceSimulator.Flood;

/// <summary>
/// A real device beside the flood: one CON telemetry POST at a time, every <c>interval</c>, on its own socket,
/// timing each answer. Its latency, recorded per phase (before, during, after the flood), is what the flood costs
/// honest devices. A request unanswered within the timeout counts as lost (no retransmission: a loss must show).
/// </summary>
internal sealed class ControlDevice(Uri target, TimeSpan interval, TimeSpan timeout)
{
    public sealed class Phase
    {
        public LatencyHistogram Latency { get; } = new();
        public long Lost;
        public long NotCreated;
    }

    public Phase Before { get; } = new();
    public Phase During { get; } = new();
    public Phase After { get; } = new();

    /// <summary>Which phase the next request belongs to (set by the flood command).</summary>
    public Phase Current { get; set; } = null!;

    public async Task RunAsync(CancellationToken ct)
    {
        Current ??= Before;
        var addresses = await Dns.GetHostAddressesAsync(target.Host, ct);
        var server = new IPEndPoint(addresses[0], target.Port > 0 ? target.Port : 5683);
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        var buffer = new byte[1500];
        ushort messageId = (ushort)Random.Shared.Next();
        var path = target.AbsolutePath;
        var query = target.Query.TrimStart('?');
        while (!ct.IsCancellationRequested)
        {
            var next = Stopwatch.GetTimestamp() + (long)(interval.TotalSeconds * Stopwatch.Frequency);
            var phase = Current;
            messageId++;
            var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = messageId, Token = BitConverter.GetBytes(messageId) };
            request.SetUriPath(path);
            if (query.Length > 0)
            {
                request.AddQuery(query);
            }
            request.ContentFormat = ContentFormats.Json;
            request.Payload = Encoding.UTF8.GetBytes("{\"control\":" + messageId + "}");
            var sent = Stopwatch.GetTimestamp();
            await socket.SendAsync(CoapSerializer.ToArray(request), ct);
            var answered = false;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                wait.CancelAfter(timeout);
                try
                {
                    while (!answered)
                    {
                        var n = await socket.ReceiveAsync(buffer, wait.Token);
                        var response = new CoapMessage();
                        if (CoapParser.TryParse(buffer.AsMemory(0, n), response) == CoapParseError.None && response.MessageId == messageId)
                        {
                            answered = true;
                            phase.Latency.Record((long)Stopwatch.GetElapsedTime(sent).TotalMicroseconds);
                            if (response.Code != CoapCode.Created)
                            {
                                Interlocked.Increment(ref phase.NotCreated);
                            }
                        }
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref phase.Lost);
                }
            }
            var wait2 = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait2 > TimeSpan.Zero)
            {
                await Task.Delay(wait2, ct);
            }
        }
    }
}
