using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NHub.Coap;

namespace NHub.DeviceSimulator;

/// <summary>
/// One simulated device: its own UDP socket (so the server sees a distinct peer), one confirmable request at a time
/// (RFC 7252 §4.7 NSTART = 1), answered piggybacked or separately (§5.2.2: empty ACK, then a CON response it ACKs).
/// No retransmission: an unanswered request counts as a timeout, which is what a load test should report.
/// </summary>
public sealed class VirtualDevice(int index, SimulatorOptions options, IPEndPoint server, LatencyRecorder recorder) : IDisposable
{
    private readonly Socket _socket = new(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
    private readonly byte[] _send = new byte[2048];
    private readonly byte[] _receive = new byte[2048];
    private readonly CoapMessage _request = new();
    private readonly CoapMessage _response = new();
    private ushort _messageId = (ushort)Random.Shared.Next(0, 65536);
    private uint _token = (uint)Random.Shared.Next();

    public string DeviceId { get; } = options.DeviceIdPrefix + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async Task RunAsync(DateTimeOffset until, CancellationToken ct)
    {
        _socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
        _socket.Connect(server);
        var interval = options.RatePerSecond > 0 ? TimeSpan.FromSeconds(options.Devices / options.RatePerSecond) : TimeSpan.Zero;
        var next = Stopwatch.GetTimestamp() + (long)(Random.Shared.NextDouble() * interval.TotalSeconds * Stopwatch.Frequency);
        using var timeout = new CancellationTokenSource();
        while (DateTimeOffset.UtcNow < until && !ct.IsCancellationRequested)
        {
            if (interval > TimeSpan.Zero)
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct).ConfigureAwait(false);
                }
                next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
            }
            await ExchangeAsync(timeout, ct).ConfigureAwait(false);
        }
    }

    private async Task ExchangeAsync(CancellationTokenSource timeout, CancellationToken ct)
    {
        var mid = _messageId++;
        var token = _token++;
        var length = BuildRequest(mid, token);
        var started = Stopwatch.GetTimestamp();
        if (!timeout.TryReset())
        {
            return;
        }
        timeout.CancelAfter(options.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ct);
        try
        {
            await _socket.SendAsync(_send.AsMemory(0, length), SocketFlags.None, linked.Token).ConfigureAwait(false);
            while (true)
            {
                var n = await _socket.ReceiveAsync(_receive, SocketFlags.None, linked.Token).ConfigureAwait(false);
                if (CoapParser.TryParse(_receive.AsMemory(0, n), _response) != CoapParseError.None || !SameToken(token))
                {
                    if (_response.Type == CoapMessageType.Acknowledgement && _response.MessageId == mid && _response.Code.IsEmpty)
                    {
                        continue; // §5.2.2: the separate response follows
                    }
                    continue;
                }
                if (_response.Type == CoapMessageType.Confirmable)
                {
                    // A separate response: acknowledge it (empty ACK with its message id).
                    var ack = new byte[] { 0x60, 0, (byte)(_response.MessageId >> 8), (byte)_response.MessageId };
                    await _socket.SendAsync(ack, SocketFlags.None, linked.Token).ConfigureAwait(false);
                }
                recorder.Record(_response.Code.ToString(), (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                return;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            recorder.Record("timeout", (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        catch (SocketException ex)
        {
            recorder.Record("socket_" + ex.SocketErrorCode, (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
    }

    private bool SameToken(uint token)
    {
        var t = _response.Token.Span;
        return t.Length == 4 && t[0] == (byte)(token >> 24) && t[1] == (byte)(token >> 16) && t[2] == (byte)(token >> 8) && t[3] == (byte)token;
    }

    private int BuildRequest(ushort mid, uint token)
    {
        _request.Clear();
        _request.Type = CoapMessageType.Confirmable;
        _request.MessageId = mid;
        _request.Token = new byte[] { (byte)(token >> 24), (byte)(token >> 16), (byte)(token >> 8), (byte)token };
        _request.SetUriPath(options.Target.AbsolutePath);
        if (options.Scenario == "telemetry")
        {
            _request.Code = CoapCode.Post;
            _request.AddQuery("id=" + DeviceId);
            _request.ContentFormat = ContentFormats.Json;
            _request.Payload = Encoding.UTF8.GetBytes(options.Payload);
        }
        else
        {
            _request.Code = CoapCode.Get;
        }
        CoapSerializer.TryWrite(_request, _send, out var written);
        return written;
    }

    public void Dispose() => _socket.Dispose();
}
