using System.Text.Json;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NHub.Grains.Services;

namespace NHub.Silo.Infrastructure;

/// <summary>Lifecycle events as JSON on <c>{prefix}.{device_id}</c>, stored in the events stream for downstream systems.</summary>
public sealed partial class NatsDeviceEventPublisher(INatsJSContext js, IOptions<DeviceDataOptions> options, ILogger<NatsDeviceEventPublisher> logger) : IDeviceEventPublisher
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public async ValueTask PublishAsync(DeviceEvent deviceEvent)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            device_id = deviceEvent.DeviceId,
            type = deviceEvent.Type,
            at = deviceEvent.At,
            data = deviceEvent.Data,
        }, Json);
        using var timeout = new CancellationTokenSource(options.Value.PublishTimeout);
        try
        {
            var ack = await js.PublishAsync($"{options.Value.EventsSubjectPrefix}.{deviceEvent.DeviceId}", body,
                headers: new NatsHeaders { ["Content-Type"] = "application/json", ["NHub-Event-Type"] = deviceEvent.Type },
                cancellationToken: timeout.Token);
            ack.EnsureSuccess();
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException)
        {
            LogLost(logger, deviceEvent.DeviceId, deviceEvent.Type, ex.Message);
        }
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Lifecycle event {EventType} of {DeviceId} not published: {Message}")]
    private static partial void LogLost(ILogger logger, string deviceId, string eventType, string message);
}
