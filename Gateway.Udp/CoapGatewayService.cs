using System.Diagnostics.Metrics;
using NHub.Gateway.Backend;
using NHub.Gateway.Coap;
using NHub.Gateway.Resources;
using NHub.Gateway.Transport.Dtls;
using NHub.Gateway.Transport.Tcp;
using NHub.Gateway.Transport.Udp;
using NHub.Gateway.Transport.WebSockets;
using NHub.ServiceDefaults;

namespace NHub.Gateway;

/// <summary>
/// Starts the gateway's CoAP endpoints: plain UDP (policy <see cref="PlainMode"/>) and DTLS, each a transport with the
/// CoAP stack on top, routed to the resources. The one place where CoAP requests meet grain calls is the resources.
/// </summary>
public sealed partial class CoapGatewayService(
    IServiceProvider services,
    ResolvedGatewayOptions options,
    CoapServerOptions coapOptions,
    CoapEndpoints endpoints,
    TcpTransportOptions tcpOptions,
    TelemetryResource telemetry,
    CommandsResource commands,
    FirmwareResource firmware,
    BackendFailureGuard guard,
    IMeterFactory meters,
    TimeProvider time,
    ILogger<CoapGatewayService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.PlainMode != PlainMode.Off)
        {
            var udp = (UdpTransport)services.GetService(typeof(UdpTransport))!;
            var router = options.PlainMode == PlainMode.Enabled ? ServiceRouter() : RejectingRouter();
            Start(new CoapEndpoint(udp, coapOptions, router, time, new GatewayMetrics(meters, "udp"),
                new CoapExchangeTracing(PlatformTracing.Source, "udp")));
        }
        if (options.DtlsEnabled)
        {
            var dtls = (DtlsTransport)services.GetService(typeof(DtlsTransport))!;
            Start(new CoapEndpoint(dtls, coapOptions, ServiceRouter(), time, new GatewayMetrics(meters, "dtls"),
                new CoapExchangeTracing(PlatformTracing.Source, "dtls")));
        }
        if (tcpOptions.Enabled && options.PlainMode != PlainMode.Off)
        {
            var tcp = services.GetRequiredKeyedService<StreamTransport>(TransportKind.Tcp);
            var router = options.PlainMode == PlainMode.Enabled ? ServiceRouter() : RejectingRouter();
            Start(new CoapEndpoint(tcp, coapOptions, router, time, new GatewayMetrics(meters, "tcp"), new CoapExchangeTracing(PlatformTracing.Source, "tcp")));
        }
        if (tcpOptions.Enabled && (tcpOptions.TlsEnabled ?? options.DtlsEnabled))
        {
            var tls = services.GetRequiredKeyedService<StreamTransport>(TransportKind.Tls);
            Start(new CoapEndpoint(tls, coapOptions, ServiceRouter(), time, new GatewayMetrics(meters, "tls"), new CoapExchangeTracing(PlatformTracing.Source, "tls")));
        }
        if (tcpOptions.WebSocketsEnabled)
        {
            // Who may connect is decided at the upgrade (a device credential, or none where plain CoAP is enabled).
            var ws = services.GetRequiredService<WebSocketTransport>();
            Start(new CoapEndpoint(ws, coapOptions, ServiceRouter(), time, new GatewayMetrics(meters, "websocket"),
                new CoapExchangeTracing(PlatformTracing.Source, "websocket")));
        }
        LogStarted(logger, options.PlainMode, options.DtlsEnabled, options.Id);
        await Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var endpoint in endpoints.All)
        {
            await endpoint.Transport.StopAsync();
        }
    }

    private void Start(CoapEndpoint endpoint)
    {
        endpoint.Server.Observers.RelationEnded += (relation, reason) =>
        {
            // A relation whose session moved on is not over: the twin keeps it for the gateway that has the session now.
            if (relation.State is CommandRelationState state)
            {
                if (reason == RelationEndReason.Moved)
                {
                    commands.RelationMovedAway(state);
                }
                else
                {
                    _ = commands.RelationEndedAsync(state);
                }
            }
        };
        endpoint.Resumed = (endpoint, peer) => _ = commands.ResumeAsync(endpoint, peer);
        endpoints.Add(endpoint);
        endpoint.Start();
        LogListening(logger, endpoint.Transport.Kind, endpoint.Transport.LocalEndPoint);
    }

    private CoapRouter<PeerInfo> ServiceRouter() => new CoapRouter<PeerInfo>()
        .Map(CoapCode.Post, "/telemetry", guard.Wrap(telemetry.PostAsync), TelemetryResource.Description)
        .Map(CoapCode.Get, "/commands/{device_id}", guard.Wrap(commands.GetAsync), CommandsResource.Description)
        .Map(CoapCode.Get, "/firmware/{version}", guard.Wrap(firmware.GetAsync), FirmwareResource.Description);

    /// <summary>Production's plain port: every request is 4.01 with a diagnostic saying DTLS is required (the device guide).</summary>
    private static CoapRouter<PeerInfo> RejectingRouter() => new(serveWellKnownCore: false)
    {
        InlineFallback = _ => CoapResponse.Text(CoapCode.Unauthorized,
            "DTLS required: use coaps:// on port 5684 (or coaps+tcp:// on 5684/tcp) with your PSK identity and key or your certificate"),
    };

    [LoggerMessage(EventId = 5000, Level = LogLevel.Debug, Message = "CoAP gateway started: plain {PlainMode}, DTLS {Dtls}, gateway id {GatewayId}")]
    private static partial void LogStarted(ILogger logger, PlainMode plainMode, bool dtls, Guid gatewayId);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Debug, Message = "CoAP {Transport} endpoint on {EndPoint}")]
    private static partial void LogListening(ILogger logger, TransportKind transport, System.Net.EndPoint endPoint);
}
