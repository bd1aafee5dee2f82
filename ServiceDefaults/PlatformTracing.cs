using System.Diagnostics;

namespace NHub.ServiceDefaults;

/// <summary>
/// The platform's one <see cref="ActivitySource"/> ("NHub", beside the "NHub" meter): the gateway's CoAP exchange
/// spans and the JetStream publish span start here. Orleans' grain-call spans come from its own sources
/// (<see cref="OrleansSource"/>). Spans are recorded only while a tracer provider listens (<see cref="ServiceDefaultsExtensions"/>
/// registers one when OTEL_EXPORTER_OTLP_ENDPOINT is set); otherwise <c>StartActivity</c> returns null and costs a check.
/// </summary>
public static class PlatformTracing
{
    public const string SourceName = "NHub";

    /// <summary>Orleans' application grain calls (client and server side of each call), see Orleans.Diagnostics.ActivitySources.</summary>
    public const string OrleansSource = "Microsoft.Orleans.Application";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Tag names shared by the platform's spans.</summary>
    public const string DeviceIdTag = "nhub.device.id";

    /// <summary>Tags the current span with the device id when it is one of the platform's (no-op when nobody records).</summary>
    public static void TagDevice(string deviceId)
    {
        if (Activity.Current is { IsAllDataRequested: true } current && ReferenceEquals(current.Source, Source))
        {
            current.SetTag(DeviceIdTag, deviceId);
        }
    }
}
