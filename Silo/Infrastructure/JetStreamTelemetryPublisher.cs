using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NHub.Grains;
using NHub.Grains.Services;
using NHub.ServiceDefaults;

namespace NHub.Silo.Infrastructure;

/// <summary>
/// Publishes telemetry to JetStream: subject <c>{prefix}.{device_id}</c>, the raw payload as the body, headers for
/// device, content format, receive time and transport, and <c>Nats-Msg-Id = {device_id}:{exchange}</c> so a
/// retransmitted CON message is stored once even if it reaches another gateway (docs/telemetry-envelope.md).
/// Accepted only after the JetStream ack; NATS down or a late ack → Unavailable (the device gets 5.03).
/// Traced: a Producer span per publish (child of the grain call, itself a child of the gateway's CoAP exchange) whose
/// W3C trace context goes into the <c>traceparent</c>/<c>tracestate</c> headers so a consumer continues the trace.
/// </summary>
public sealed partial class JetStreamTelemetryPublisher(INatsJSContext js, IOptions<DeviceDataOptions> options, IMeterFactory meters, ILogger<JetStreamTelemetryPublisher> logger) : ITelemetryPublisher
{
    private readonly DeviceDataOptions _options = options.Value;

    /// <summary>Publish to ack (or to the failure), by <c>outcome</c>: accepted, duplicate, unavailable.</summary>
    private readonly Histogram<double> _publishDuration = meters.Create(ServiceDefaultsExtensions.MeterName)
        .CreateHistogram<double>("nhub.jetstream.publish.duration", "ms", "Time from a telemetry publish to its JetStream ack, by outcome");

    public bool IsDurable => true;

    /// <summary>
    /// The reply wait has no timer of its own (NATS.Net would start one per request): the one deadline is the token
    /// source below, which also bounds the wait for a connection while NATS is down.
    /// </summary>
    private static readonly NatsSubOpts AckOpts = new() { Timeout = Timeout.InfiniteTimeSpan, ThrowIfNoResponders = false };

    private readonly INatsConnection _nats = js.Connection;

    public async ValueTask<TelemetryResult> PublishAsync(string deviceId, TelemetryReport report, CancellationToken cancellationToken)
    {
        var msgId = $"{deviceId}:{report.ExchangeId}";
        var headers = new NatsHeaders(8)
        {
            [TelemetryHeaders.DeviceId] = deviceId,
            [TelemetryHeaders.ContentFormat] = ContentFormatText(report.ContentFormat),
            // Formats without a registered name are opaque bytes to a consumer.
            [TelemetryHeaders.ContentType] = NHub.Coap.ContentFormats.MediaType(report.ContentFormat) ?? "application/octet-stream",
            [TelemetryHeaders.ReceivedAt] = report.ReceivedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            [TelemetryHeaders.Transport] = report.Transport == DeviceTransport.Coaps ? "coaps" : "coap",
            // JetStream's de-duplication key (the wire API's Nats-Msg-Id header): a retransmitted exchange is stored once.
            [MsgIdHeader] = msgId,
        };
        var subject = $"{_options.TelemetrySubjectPrefix}.{deviceId}";
        using var activity = PlatformTracing.Source.StartActivity(PublishActivityName, ActivityKind.Producer);
        if (activity is not null)
        {
            activity.DisplayName = $"{_options.TelemetrySubjectPrefix} publish";
            activity.SetTag("messaging.system", "nats");
            activity.SetTag("messaging.operation.type", "send");
            activity.SetTag("messaging.destination.name", subject);
            activity.SetTag("messaging.message.id", msgId);
            activity.SetTag(PlatformTracing.DeviceIdTag, deviceId);
        }
        WriteTraceContext(headers, activity ?? Activity.Current);
        using var timeout = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : new CancellationTokenSource();
        timeout.CancelAfter(_options.PublishTimeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var reply = await _nats.RequestAsync<byte[], JetStreamPubAck>(subject, report.Payload, headers,
                replySerializer: JetStreamPubAck.Deserializer, replyOpts: AckOpts, cancellationToken: timeout.Token);
            var ack = reply.Data;
            if (reply.HasNoResponders || !ack.Stored)
            {
                // No stream listens on the subject (503 no responders), or the stream refused the message.
                var why = reply.HasNoResponders ? "no JetStream stream answers on the subject" : $"{ack.ErrorCode} {ack.Error}";
                return Unavailable(activity, started, deviceId, "JetStreamRefused", why);
            }
            if (ack.Duplicate)
            {
                // JetStream already holds this exchange (a CON retransmission): accepted, stored once.
                activity?.SetTag("nhub.duplicate", true);
                RecordPublish(started, "duplicate");
                return new TelemetryResult(TelemetryOutcome.Accepted, Duplicate: true);
            }
            RecordPublish(started, "accepted");
            return new TelemetryResult(TelemetryOutcome.Accepted);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or TimeoutException)
        {
            return Unavailable(activity, started, deviceId, ex.GetType().Name, ex.Message);
        }
    }

    private const string MsgIdHeader = "Nats-Msg-Id";

    private TelemetryResult Unavailable(Activity? activity, long started, string deviceId, string error, string message)
    {
        activity?.SetStatus(ActivityStatusCode.Error, error);
        RecordPublish(started, "unavailable");
        LogUnavailable(logger, deviceId, error, message);
        return new TelemetryResult(TelemetryOutcome.Unavailable, _options.RetryAfterSeconds, "telemetry backend (NATS JetStream) unavailable");
    }

    /// <summary>The formats devices send are few: their header text is made once, not per message.</summary>
    private static string ContentFormatText(int format) => (uint)format < (uint)FormatTexts.Length
        ? FormatTexts[format]
        : format.ToString(CultureInfo.InvariantCulture);

    private static readonly string[] FormatTexts = [.. Enumerable.Range(0, 128).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    public const string PublishActivityName = "telemetry.publish";

    private void RecordPublish(long started, string outcome) =>
        _publishDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>
    /// W3C Trace Context (https://www.w3.org/TR/trace-context/ §3.2, §3.3): <c>traceparent</c> = version-traceid-spanid-flags
    /// of the span the consumer's span should be a child of, <c>tracestate</c> when the trace carries vendor state.
    /// Nothing written when nothing is traced.
    /// </summary>
    private static void WriteTraceContext(NatsHeaders headers, Activity? activity)
    {
        if (activity is null || activity.IdFormat != ActivityIdFormat.W3C || activity.Id is not { } id)
        {
            return;
        }
        headers[TelemetryHeaders.TraceParent] = id;
        if (!string.IsNullOrEmpty(activity.TraceStateString))
        {
            headers[TelemetryHeaders.TraceState] = activity.TraceStateString;
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Telemetry of {DeviceId} not accepted by JetStream: {Error} {Message}")]
    private static partial void LogUnavailable(ILogger logger, string deviceId, string error, string message);
}

/// <summary>Header names of the telemetry envelope (documented in docs/telemetry-envelope.md).</summary>
public static class TelemetryHeaders
{
    public const string DeviceId = "NHub-Device-Id";
    public const string ContentFormat = "NHub-Content-Format";
    public const string ContentType = "Content-Type";
    public const string ReceivedAt = "NHub-Received-At";
    public const string Transport = "NHub-Transport";
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
}
