using Microsoft.Extensions.Logging;
using NHub.Grains.Services;

namespace NHub.Grains.Embedded;

/// <summary>Embedded mode (no NATS): lifecycle events go to the log (event id 3000).</summary>
public sealed partial class LoggingDeviceEventPublisher(ILogger<LoggingDeviceEventPublisher> logger) : IDeviceEventPublisher
{
    public ValueTask PublishAsync(DeviceEvent deviceEvent)
    {
        LogEvent(logger, deviceEvent.DeviceId, deviceEvent.Type, deviceEvent.At);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Device {DeviceId} {EventType} at {At:o}")]
    private static partial void LogEvent(ILogger logger, string deviceId, string eventType, DateTimeOffset at);
}
