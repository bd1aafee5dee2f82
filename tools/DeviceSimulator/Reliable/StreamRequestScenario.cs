using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using NHub.Coap;
using NHub.DeviceSimulator.Devices;
using NHub.DeviceSimulator.Dtls;
using NHub.DeviceSimulator.Scenarios;

namespace NHub.DeviceSimulator.Reliable;

/// <summary>
/// get and telemetry over <c>coap+tcp://</c> and <c>coaps+tcp://</c> (RFC 8323): every device its own connection and
/// thread, the next request when the previous one is answered (flat out; --rate is not supported here).
/// </summary>
internal sealed class StreamRequestScenario(bool telemetry) : IScenario
{
    private readonly List<StreamDevice> _devices = [];
    private byte[] _payload = [];
    private string _path = "/";
    private long _connectFailures;

    public string Unit => "requests";

    public Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        _payload = Encoding.UTF8.GetBytes(context.Options.Payload);
        _path = context.Options.Target.AbsolutePath;
        var suites = context.Options.Target.Scheme == "coaps+tcp" ? SimPskClient.ParseSuites(context.Options.CipherSuites) : null;
        for (var i = 0; i < context.Options.Devices && !ct.IsCancellationRequested; i++)
        {
            var device = new StreamDevice(context.Credentials[i % context.Credentials.Count]);
            try
            {
                device.Connect(context.Server, suites, context.Options.Timeout);
                _devices.Add(device);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or Org.BouncyCastle.Tls.TlsException)
            {
                device.Dispose();
                _connectFailures++;
                progress($"device {i}: {ex.Message}");
            }
            progress($"connected {_devices.Count}/{context.Options.Devices}");
        }
        return _devices.Count > 0 ? Task.CompletedTask : throw new IOException("no device could connect");
    }

    public Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct) =>
        Task.WhenAll(_devices.Select(d => Task.Factory.StartNew(() => RunDevice(context, d, deadlineTimestamp, ct), TaskCreationOptions.LongRunning)));

    private void RunDevice(RunContext context, StreamDevice device, long deadline, CancellationToken ct)
    {
        var request = new CoapMessage();
        // Plain TCP authenticates nobody: the request names its device (over TLS the session does).
        var idQuery = context.Options.Target.Scheme == "coap+tcp" ? "id=" + device.Credential.DeviceId : null;
        while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested)
        {
            request.Clear();
            request.Type = CoapMessageType.Confirmable;
            request.Code = telemetry ? CoapCode.Post : CoapCode.Get;
            request.SetUriPath(_path);
            if (telemetry)
            {
                request.ContentFormat = ContentFormats.Json;
                if (idQuery is not null)
                {
                    request.AddQuery(idQuery);
                }
                request.Payload = _payload;
            }
            var started = Stopwatch.GetTimestamp();
            CoapCode? code;
            try
            {
                code = device.Request(request);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or Org.BouncyCastle.Tls.TlsException)
            {
                context.Record(new Reply(ReplyStatus.Failed, default, Failure: "connection_error"), started);
                return;
            }
            context.Record(code is { } c ? new Reply(ReplyStatus.Response, c) : new Reply(ReplyStatus.Failed, default, Failure: "closed"), started);
            if (code is null)
            {
                return;
            }
        }
    }

    public long Count(RunContext context) => context.Outcomes.Total;

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
        result["connections"] = _devices.Count;
        result["connect_failures"] = _connectFailures;
        summary.Add($"  connections: {_devices.Count} ({_connectFailures} failed to connect)");
        foreach (var device in _devices)
        {
            device.Dispose();
        }
    }
}
