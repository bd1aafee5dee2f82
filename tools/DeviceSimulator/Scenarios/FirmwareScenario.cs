using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using NHub.Coap;
using NHub.Coap.Stack;
using NHub.DeviceSimulator.Devices;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>
/// Firmware download: each device fetches /firmware/&lt;version&gt; block by block (RFC 7959 §2.4: it asks for block
/// NUM at its SZX and follows the size the server answers with), assembles it with <see cref="Block2Download"/>,
/// checks the SHA-256 the management API published, and starts again, until the deadline. Latency is per block.
/// </summary>
internal sealed class FirmwareScenario : IScenario
{
    private byte[] _expected = [];
    private long _size;
    private int _sizeExponent;
    private long _downloads;
    private long _mismatches;
    private long _bytes;

    public string Unit => "blocks";

    public async Task SetupAsync(RunContext context, Action<string> progress, CancellationToken ct)
    {
        var version = context.Options.FirmwareVersion ?? throw new ArgumentException("--scenario firmware needs --firmware-version");
        if (context.Options.Sha256 is { } hex)
        {
            _expected = Convert.FromHexString(hex);
            _size = 16 * 1024 * 1024;
        }
        else if (context.Api is { } api)
        {
            var meta = await api.GetFirmwareAsync(version, ct).ConfigureAwait(false) ?? throw new ArgumentException($"firmware {version} does not exist");
            _expected = Convert.FromHexString(meta.Sha256);
            _size = meta.Size;
        }
        else
        {
            throw new ArgumentException("--scenario firmware verifies the image: give --sha256, or --api/--api-key to read it");
        }
        _sizeExponent = BlockOption.ExponentFor(context.Options.BlockSize);
        await context.ConnectAllAsync(progress, ct).ConfigureAwait(false);
    }

    public Task RunAsync(RunContext context, long deadlineTimestamp, CancellationToken ct) =>
        Task.WhenAll(context.Devices.Select(d => RunDeviceAsync(context, d, deadlineTimestamp, ct)));

    private async Task RunDeviceAsync(RunContext context, SimDevice device, long deadline, CancellationToken ct)
    {
        var path = "/firmware/" + context.Options.FirmwareVersion;
        var idQuery = context.Options.Dtls ? null : "id=" + device.DeviceId;
        while (Stopwatch.GetTimestamp() < deadline && !ct.IsCancellationRequested && !device.IsClosed)
        {
            var download = new Block2Download((int)Math.Max(_size, 1));
            BlockOption? next = new BlockOption(0, false, _sizeExponent);
            while (next is { } block && Stopwatch.GetTimestamp() < deadline && !device.IsClosed)
            {
                var request = device.NewRequest(CoapCode.Get);
                request.SetUriPath(path);
                if (idQuery is not null)
                {
                    request.AddQuery(idQuery);
                }
                request.Block2 = block;
                var started = Stopwatch.GetTimestamp();
                var reply = await device.SendAsync(keepMessage: true).ConfigureAwait(false);
                context.Record(reply, started);
                if (reply is not { Status: ReplyStatus.Response, Message: { } message } || message.Code != CoapCode.Content)
                {
                    break; // start the download again
                }
                try
                {
                    next = download.Add(message);
                    Interlocked.Add(ref _bytes, message.Payload.Length);
                }
                catch (InvalidDataException)
                {
                    context.Outcomes.Add("block_out_of_sequence");
                    break;
                }
                if (next is null)
                {
                    if (SHA256.HashData(download.Body.Span).AsSpan().SequenceEqual(_expected))
                    {
                        Interlocked.Increment(ref _downloads);
                    }
                    else
                    {
                        Interlocked.Increment(ref _mismatches);
                        context.Outcomes.Add("sha256_mismatch");
                    }
                }
            }
        }
    }

    public long Count(RunContext context) => context.Outcomes.Successful;

    public void Report(RunContext context, JsonObject result, List<string> summary, double elapsedSeconds)
    {
        var blocks = context.Outcomes.Successful;
        result["firmware_version"] = context.Options.FirmwareVersion;
        result["block_size"] = 1 << (_sizeExponent + 4);
        result["blocks"] = blocks;
        result["blocks_per_s"] = Math.Round(blocks / elapsedSeconds, 1);
        result["bytes_per_s"] = Math.Round(Interlocked.Read(ref _bytes) / elapsedSeconds, 0);
        result["downloads_verified"] = Interlocked.Read(ref _downloads);
        result["sha256_mismatches"] = Interlocked.Read(ref _mismatches);
        summary.Add($"  {blocks / elapsedSeconds:F1} blocks/s ({result["block_size"]} B), {_downloads} downloads verified (SHA-256), {_mismatches} mismatches");
    }
}
