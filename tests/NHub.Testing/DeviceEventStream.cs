using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace NHub.Testing;

/// <summary>
/// Reads a device's lifecycle events from the platform's JetStream events stream, as a downstream system would. Reading
/// the stored stream (from its start) rather than a live subscription means an event published before the wait began
/// is still seen.
/// </summary>
public sealed class DeviceEventStream(string natsUrl, string stream, string subjectPrefix)
{
    /// <summary>The events stream of a cluster configured with <paramref name="settings"/> (see <see cref="ClusterSettings"/>).</summary>
    public DeviceEventStream(string natsUrl, IReadOnlyDictionary<string, string?> settings)
        : this(natsUrl, settings["Nats:DeviceData:EventsStream"]!, settings["Nats:DeviceData:EventsSubjectPrefix"]!)
    {
    }

    /// <summary>Every event of <paramref name="deviceId"/> stored so far, oldest first.</summary>
    public async Task<List<JsonElement>> ReadAllAsync(string deviceId) =>
        [.. (await JetStreamReader.ReadAllAsync(natsUrl, stream, $"{subjectPrefix}.{deviceId}")).Select(m => JsonDocument.Parse(m.Data).RootElement.Clone())];

    /// <summary>Completes with the first stored event of <paramref name="deviceId"/> of <paramref name="type"/> that matches.</summary>
    public async Task<JsonElement> WaitForAsync(string deviceId, string type, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        var consumer = await new NatsJSContext(nats).CreateOrderedConsumerAsync(stream, new NatsJSOrderedConsumerOpts { FilterSubjects = [$"{subjectPrefix}.{deviceId}"] }, cts.Token);
        try
        {
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: cts.Token))
            {
                var e = JsonDocument.Parse(msg.Data).RootElement.Clone();
                if (e.GetProperty("type").GetString() == type && (match is null || match(e)))
                {
                    return e;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        throw new TimeoutException($"no '{type}' event of device {deviceId} within {timeout ?? TimeSpan.FromSeconds(30)}");
    }

    /// <summary>The command id of a command_delivered event.</summary>
    public static Guid CommandId(JsonElement e) => e.GetProperty("data").GetProperty("command_id").GetGuid();
}
