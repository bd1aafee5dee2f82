using NATS.Client.Core;
using NATS.Client.JetStream;

namespace NHub.Testing;

/// <summary>Reads what the platform stored in JetStream, as a downstream consumer would.</summary>
public static class JetStreamReader
{
    public static async Task<List<INatsJSMsg<byte[]>>> ReadAllAsync(string natsUrl, string stream, string subject)
    {
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        var js = new NatsJSContext(nats);
        var consumer = await js.CreateOrderedConsumerAsync(stream, new NatsJSOrderedConsumerOpts { FilterSubjects = [subject] });
        var messages = new List<INatsJSMsg<byte[]>>();
        await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1000 }))
        {
            messages.Add(msg);
        }
        return messages;
    }
}
