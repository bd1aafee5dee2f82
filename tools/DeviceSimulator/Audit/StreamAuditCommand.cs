using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace NHub.DeviceSimulator.Audit;

/// <summary>
/// stream-audit: reads the whole telemetry stream as a downstream consumer would (an ordered consumer from the first
/// message) and compares it with the readings a <c>telemetry-audit</c> run saw acknowledged (--acked FILE):
/// <list type="bullet">
/// <item><b>missing</b>: acknowledged with 2.01 but not in the stream — accepted data lost (must be 0);</item>
/// <item><b>stored twice, one request</b>: a reading the device sent as one request (retransmissions of one
/// Message ID included) that the stream holds more than once — the platform's de-duplication failed (must be 0);</item>
/// <item><b>stored twice after a retry</b>: a reading the device sent again as a new request (after a 5.03, a
/// timeout or a reconnect) that the stream holds more than once: the documented at-least-once case
/// (docs/telemetry-envelope.md), reported, not a failure;</item>
/// <item><b>stored, not acknowledged</b>: attempts the device never saw a 2.01 for but that were stored anyway.</item>
/// </list>
/// </summary>
internal static class StreamAuditCommand
{
    public static async Task<int> RunAsync(SimulatorOptions options, CancellationToken ct)
    {
        var url = options.NatsUrl ?? throw new ArgumentException("stream-audit needs --nats URL");
        var ackedFile = options.AckedFile ?? throw new ArgumentException("stream-audit needs --acked FILE");
        var acked = ReadAcked(ackedFile);
        var stored = await ReadStreamAsync(url, options.Stream, ct).ConfigureAwait(false);

        var missing = acked.Keys.Where(k => !stored.Copies.ContainsKey(k)).ToList();
        var twiceOneRequest = stored.Copies.Where(c => c.Value > 1 && acked.TryGetValue(c.Key, out var requests) && requests == 1).ToList();
        var twiceAfterRetry = stored.Copies.Count(c => c.Value > 1 && !(acked.TryGetValue(c.Key, out var requests) && requests == 1));
        var storedNotAcked = stored.Copies.Keys.Count(k => !acked.ContainsKey(k));
        var sameMessageId = stored.MessageIds.Count(m => m.Value > 1);

        Console.WriteLine($"stream {options.Stream}: {stored.Total} messages read ({stored.Other} not from telemetry-audit)");
        Console.WriteLine($"acknowledged readings: {acked.Count}; in the stream: {acked.Count - missing.Count}; MISSING: {missing.Count}");
        Console.WriteLine($"stored more than once: {twiceOneRequest.Count} sent as one request (platform duplicates), {twiceAfterRetry} after the device's own retry (at-least-once)");
        Console.WriteLine($"stored but never acknowledged to the device: {storedNotAcked}; messages sharing a Nats-Msg-Id: {sameMessageId}");
        foreach (var (device, seq) in missing.Take(10))
        {
            Console.WriteLine($"  missing: {device} seq {seq}");
        }
        foreach (var ((device, seq), copies) in twiceOneRequest.Take(10))
        {
            Console.WriteLine($"  duplicate: {device} seq {seq} x{copies}");
        }
        if (options.JsonOutput is { } json)
        {
            var doc = new JsonObject
            {
                ["stream_messages"] = stored.Total,
                ["acked"] = acked.Count,
                ["missing"] = missing.Count,
                ["duplicates_one_request"] = twiceOneRequest.Count,
                ["duplicates_after_retry"] = twiceAfterRetry,
                ["stored_not_acked"] = storedNotAcked,
                ["same_message_id"] = sameMessageId,
            };
            await File.WriteAllTextAsync(json, doc.ToJsonString(), CancellationToken.None).ConfigureAwait(false);
        }
        return missing.Count == 0 && twiceOneRequest.Count == 0 && sameMessageId == 0 ? 0 : 1;
    }

    /// <summary>(device, seq) → how many requests the device sent for that reading before its 2.01.</summary>
    private static Dictionary<(string Device, long Seq), int> ReadAcked(string file)
    {
        var acked = new Dictionary<(string, long), int>();
        foreach (var line in File.ReadLines(file).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length == 4)
            {
                acked[(f[0], long.Parse(f[1], CultureInfo.InvariantCulture))] = int.Parse(f[3], CultureInfo.InvariantCulture);
            }
        }
        return acked;
    }

    private sealed record StreamContents(Dictionary<(string Device, long Seq), int> Copies, Dictionary<string, int> MessageIds, long Total, long Other);

    private static async Task<StreamContents> ReadStreamAsync(string url, string streamName, CancellationToken ct)
    {
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = url, Name = "nhub-stream-audit" });
        var js = new NatsJSContext(nats);
        var stream = await js.GetStreamAsync(streamName, cancellationToken: ct).ConfigureAwait(false);
        var last = stream.Info.State.LastSeq;
        var copies = new Dictionary<(string, long), int>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        long total = 0, other = 0;
        if (stream.Info.State.Messages == 0)
        {
            return new StreamContents(copies, ids, 0, 0);
        }
        var consumer = await js.CreateOrderedConsumerAsync(streamName, new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.All }, ct).ConfigureAwait(false);
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: ct).ConfigureAwait(false))
        {
            total++;
            if (msg.Headers?.TryGetValue("Nats-Msg-Id", out var value) == true && value.ToString() is var id)
            {
                ids[id] = ids.GetValueOrDefault(id) + 1;
            }
            if (Reading(msg.Data) is { } key)
            {
                copies[key] = copies.GetValueOrDefault(key) + 1;
            }
            else
            {
                other++;
            }
            if (msg.Metadata is { } meta && meta.Sequence.Stream >= last)
            {
                break;
            }
        }
        return new StreamContents(copies, ids, total, other);
    }

    private static (string, long)? Reading(byte[]? body)
    {
        if (body is null)
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("seq", out var seq) && root.TryGetProperty("device", out var device)
                && seq.TryGetInt64(out var n) && device.GetString() is { } d
                ? (d, n)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
