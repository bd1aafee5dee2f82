using NHub.Gateway.Backend;
using NHub.ServiceDefaults;

namespace NHub.Gateway.Resources;

/// <summary>POST /telemetry: the guide's rules (<see cref="TelemetryRequestRules"/>), then the device's grain.</summary>
public sealed class TelemetryResource(DeviceGrainReferences devices, DeviceIdentityResolver identities, AutoProvisioner autoProvisioner, TimeProvider time)
{
    public static readonly ResourceDescription Description = new("Telemetry", "nhub.telemetry");

    public async ValueTask<CoapResponse> PostAsync(CoapRequestContext<PeerInfo> ctx)
    {
        var (authenticated, authenticatedDevice) = await identities.ResolveAsync(ctx.Peer, ctx.Aborted);
        if (authenticated && authenticatedDevice is null)
        {
            return CoapResponse.Text(CoapCode.Unauthorized, "the credential of this DTLS session is no longer valid");
        }
        var decision = TelemetryRequestRules.Decide(ctx.Request.GetQueryParameter("id"), authenticatedDevice, ctx.Request.ContentFormat, ctx.Body.Span);
        switch (decision.Verdict)
        {
            case TelemetryVerdict.BadRequest:
                return CoapResponse.Text(CoapCode.BadRequest, decision.Diagnostic!);
            case TelemetryVerdict.Forbidden:
                return CoapResponse.Text(CoapCode.Forbidden, decision.Diagnostic!);
            case TelemetryVerdict.UnsupportedContentFormat:
                return CoapResponse.Text(CoapCode.UnsupportedContentFormat, decision.Diagnostic!);
        }

        PlatformTracing.TagDevice(decision.DeviceId!);
        if (!authenticated && autoProvisioner.KnownMissing(decision.DeviceId!, ctx.Peer))
        {
            return AutoProvisioner.NotProvisioned(decision.DeviceId!);
        }
        var report = new TelemetryReport(decision.ContentFormat, ctx.Body.ToArray(), time.GetUtcNow(), ctx.ExchangeId,
            // coaps: the transport authenticated the device (DTLS, TLS, a credentialed WebSocket); coap: it did not.
            ctx.Peer.Identity is not null ? DeviceTransport.Coaps : DeviceTransport.Coap, ctx.Peer.EndPoint.ToString());
        var device = devices.Get(decision.DeviceId!);
        var result = await device.ReportTelemetry(report);
        if (result.Outcome == TelemetryOutcome.UnknownDevice && !authenticated)
        {
            if (await autoProvisioner.TryProvisionAsync(decision.DeviceId!, ctx.Peer) is { } refused)
            {
                return refused;
            }
            result = await device.ReportTelemetry(report);
        }
        return result.Outcome switch
        {
            TelemetryOutcome.Accepted => new CoapResponse(CoapCode.Created),
            TelemetryOutcome.Unavailable => new CoapResponse(CoapCode.ServiceUnavailable)
            {
                // RFC 7252 §5.9.3.4: Max-Age tells the client when to retry.
                MaxAge = (uint)result.RetryAfterSeconds,
                Payload = System.Text.Encoding.UTF8.GetBytes(result.Detail ?? "backend unavailable"),
            },
            _ => AutoProvisioner.NotProvisioned(decision.DeviceId!),
        };
    }
}
