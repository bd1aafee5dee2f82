using Microsoft.Extensions.Options;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace NHub.Silo.Infrastructure;

/// <summary>
/// Creates or updates the telemetry and events streams at start. If NATS is down it keeps trying in the
/// background (telemetry is answered 5.03 until then; readiness reports NATS unhealthy).
/// </summary>
public sealed partial class JetStreamSetup(INatsJSContext js, IOptions<DeviceDataOptions> options, ILogger<JetStreamSetup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await EnsureAsync(new StreamConfig(o.TelemetryStream, [o.TelemetrySubjectPrefix + ".>"])
                {
                    DuplicateWindow = o.DuplicateWindow,
                    MaxAge = o.MaxAge,
                    Storage = StreamConfigStorage.File,
                }, stoppingToken);
                await EnsureAsync(new StreamConfig(o.EventsStream, [o.EventsSubjectPrefix + ".>"])
                {
                    MaxAge = o.MaxAge,
                    Storage = StreamConfigStorage.File,
                }, stoppingToken);
                LogReady(logger, o.TelemetryStream, o.EventsStream);
                return;
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException)
            {
                LogRetry(logger, ex.Message, delay);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }

    private async Task EnsureAsync(StreamConfig config, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            await js.CreateOrUpdateStreamAsync(config, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"JetStream did not answer creating stream {config.Name}");
        }
    }

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "JetStream streams {Telemetry} and {Events} ready")]
    private static partial void LogReady(ILogger logger, string telemetry, string events);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "JetStream not ready ({Message}); retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, string message, TimeSpan delay);
}
