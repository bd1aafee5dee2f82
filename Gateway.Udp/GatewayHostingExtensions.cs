using Microsoft.Extensions.DependencyInjection.Extensions;
using NHub.Gateway.Backend;
using NHub.Gateway.Resources;
using NHub.Gateway.Security;
using NHub.Gateway.Transport.Dtls;
using NHub.Gateway.Transport.Tcp;
using NHub.Gateway.Transport.WebSockets;
using Microsoft.Extensions.Options;
using NHub.Gateway.Transport.Udp;
using NHub.ServiceDefaults;
using Npgsql;

namespace NHub.Gateway;

/// <summary>
/// The gateway's settings after defaults that depend on the platform mode. <c>AutoProvisionPlain</c>: unknown plain-CoAP
/// devices are auto-provisioned (plain CoAP served and <c>Devices:AutoProvisionPlain</c>, by default on without PostgreSQL).
/// </summary>
public sealed record ResolvedGatewayOptions(PlainMode PlainMode, bool DtlsEnabled, Guid Id, bool AutoProvisionPlain = false);

public static class GatewayHostingExtensions
{
    /// <summary>
    /// Adds the CoAP gateway (plain UDP and DTLS endpoints, resources, downlink and revocation listeners) to a host
    /// that has an Orleans client or silo. Used by this project's Program.cs and by the Silo in embedded mode.
    /// </summary>
    public static IHostApplicationBuilder AddCoapGateway(this IHostApplicationBuilder builder)
    {
        var mode = PlatformMode.From(builder.Configuration);
        var gateway = OptionsGuard.Bind<GatewayOptions>(builder.Configuration, GatewayOptions.Section);
        var udp = OptionsGuard.Bind<UdpTransportOptions>(builder.Configuration, UdpTransportOptions.Section);
        var coap = OptionsGuard.Bind<CoapServerOptions>(builder.Configuration, CoapServerOptions.Section);
        var tcp = OptionsGuard.Bind<TcpTransportOptions>(builder.Configuration, TcpTransportOptions.Section);
        var autoProvision = OptionsGuard.Bind<AutoProvisionOptions>(builder.Configuration, AutoProvisionOptions.Section);
        var plainMode = gateway.PlainMode ?? (mode.UsesPostgres ? PlainMode.Reject : PlainMode.Enabled);
        var resolved = new ResolvedGatewayOptions(
            plainMode,
            gateway.DtlsEnabled,
            gateway.Id ?? Guid.NewGuid(),
            plainMode == PlainMode.Enabled && autoProvision.IsEnabled(mode.UsesPostgres));

        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(gateway);
        services.AddSingleton(resolved);
        services.AddSingleton(new GatewayIdentity(resolved.Id));
        services.AddSingleton(udp);
        services.AddSingleton(coap);
        services.AddSingleton<UdpTransport>();
        services.AddSingleton<IPskCredentialSource, GrainPskCredentialSource>();
        services.AddDeviceCertificates<GrainDeviceCertificateDirectory>();
        AddSessionStore(services, builder.Configuration, mode);
        services.AddDtlsTransport();
        services.AddSingleton<ISessionCloser>(sp => sp.GetRequiredService<DtlsTransport>());
        AddStreamTransports(services, tcp, udp);
        services.AddSingleton<DeviceIdentityResolver>();
        services.AddSingleton(autoProvision);
        services.AddSingleton<AutoProvisioner>();
        services.AddSingleton<FirmwareCache>();
        services.AddSingleton<DeviceGrainReferences>();
        services.AddSingleton<TelemetryResource>();
        services.AddSingleton<CommandsResource>();
        services.AddSingleton<FirmwareResource>();
        services.AddSingleton<BackendFailureGuard>();
        services.AddSingleton<CoapEndpoints>();
        // Attached before the first socket opens, so that no Observe registration can name a gateway nobody reaches.
        services.AddSingleton<DownlinkListener>();
        services.AddSingleton<SessionMovedListener>();
        services.AddSingleton<GatewayObserver>();
        services.AddHostedService<GatewayAttachment>();
        services.AddHostedService<CoapGatewayService>();
        services.AddStartupSummaryLine(30, sp => CoapSummary(sp.GetRequiredService<CoapEndpoints>(), resolved));
        services.AddHostedService<RevocationListener>();
        services.AddSingleton<GatewayStatusReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayStatusReporter>());
        return builder;
    }

    /// <summary>
    /// CoAP over TCP and TLS (RFC 8323): one transport per port. The TLS one authenticates with the DTLS transport's
    /// credentials, suites and certificate (<see cref="TlsServerFactory"/>), and closes revoked sessions like it.
    /// </summary>
    private static void AddStreamTransports(IServiceCollection services, TcpTransportOptions tcp, UdpTransportOptions udp)
    {
        services.AddSingleton(tcp);
        var address = System.Net.IPAddress.Parse(tcp.BindAddress);
        services.AddSingleton(sp => new TlsServerFactory(sp.GetRequiredService<IOptions<DtlsOptions>>().Value, sp.GetRequiredService<CredentialCache>(),
            sp.GetService<ServerCertificate>(), sp.GetService<DeviceCertificateAuthenticator>(), sp.GetRequiredService<TimeProvider>()));
        services.AddKeyedSingleton(TransportKind.Tcp, (sp, _) => new StreamTransport(TransportKind.Tcp, new System.Net.IPEndPoint(address, tcp.Port ?? udp.Port), tcp,
            tls: null, sp.GetRequiredService<ILogger<StreamTransport>>(), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddKeyedSingleton(TransportKind.Tls, (sp, _) => new StreamTransport(TransportKind.Tls,
            new System.Net.IPEndPoint(address, tcp.TlsPort ?? sp.GetRequiredService<IOptions<DtlsOptions>>().Value.Port), tcp,
            sp.GetRequiredService<TlsServerFactory>(), sp.GetRequiredService<ILogger<StreamTransport>>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ISessionCloser>(sp => sp.GetRequiredKeyedService<StreamTransport>(TransportKind.Tls));
        services.AddSingleton(sp => new WebSocketTransport(sp.GetRequiredService<CredentialCache>(), tcp.MaxMessageSize, tcp.SendQueueFrames,
            plainAllowed: sp.GetRequiredService<ResolvedGatewayOptions>().PlainMode == PlainMode.Enabled, sp.GetRequiredService<ILogger<WebSocketTransport>>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<TlsServerFactory>()));
        services.AddSingleton<ISessionCloser>(sp => sp.GetRequiredService<WebSocketTransport>());
    }

    /// <summary>
    /// CoAP over WebSockets (RFC 8323 §4) at <c>/.well-known/coap</c> on this host, when the gateway runs here and
    /// <c>Gateway:Tcp:WebSocketsEnabled</c> is on. Call after <c>Build()</c>.
    /// </summary>
    public static WebApplication MapCoapWebSockets(this WebApplication app)
    {
        if (app.Services.GetService<TcpTransportOptions>() is not { WebSocketsEnabled: true } || app.Services.GetService<WebSocketTransport>() is not { } transport)
        {
            return app;
        }
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.Map(WebSocketTransport.Path, (HttpContext context) => transport.AcceptAsync(context)).ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// The DTLS session store (<see cref="SessionStoreOptions"/>): the session table on PostgreSQL when the platform runs
    /// on it, written by this gateway (one statement per handshake and per takeover), else the session grains.
    /// </summary>
    private static void AddSessionStore(IServiceCollection services, IConfiguration configuration, PlatformMode mode)
    {
        var options = OptionsGuard.Bind<SessionStoreOptions>(configuration, SessionStoreOptions.Section);
        var kind = options.Kind ?? (mode.UsesPostgres ? SessionStoreKind.Postgres : SessionStoreKind.Grains);
        services.AddSingleton(options);
        if (kind == SessionStoreKind.Grains)
        {
            services.AddSingleton<IDtlsSessionStore, GrainDtlsSessionStore>();
            return;
        }
        if (!mode.UsesPostgres)
        {
            throw new ConfigurationValidationException($"{SessionStoreOptions.Section}:Kind is Postgres but ConnectionStrings:Postgres is not set");
        }
        services.AddKeyedSingleton(PostgresDtlsSessionStore.DataSourceKey, (_, _) =>
            NpgsqlDataSource.Create(PostgresConnectionBudget.GatewaySessions(mode.PostgresConnectionString!, options.MaxConnections)));
        services.AddKeyedSingleton(PostgresDtlsSessionStore.LazyCommitDataSourceKey, (_, _) =>
            NpgsqlDataSource.Create(PostgresConnectionBudget.GatewaySessions(mode.PostgresConnectionString!, options.MaxConnections, lazyCommit: true)));
        services.AddSingleton<IDtlsSessionStore, PostgresDtlsSessionStore>();
        services.AddHostedService<PostgresDtlsSessionSweeper>();
    }

    /// <summary>The start-up summary's CoAP line: each bound endpoint and what it does.</summary>
    private static string CoapSummary(CoapEndpoints endpoints, ResolvedGatewayOptions options)
    {
        var parts = new List<string>();
        foreach (var endpoint in endpoints.All)
        {
            var kind = endpoint.Transport.Kind;
            if (kind == TransportKind.WebSocket)
            {
                parts.Add($"coap+ws:// and coaps+ws:// at {WebSocketTransport.Path} on the HTTP host");
                continue;
            }
            var local = (System.Net.IPEndPoint)endpoint.Transport.LocalEndPoint;
            if (kind.IsSecure())
            {
                parts.Add(kind == TransportKind.Dtls
                    ? $"coaps:// on UDP {local} (DTLS 1.2: PSK, certificates, raw public keys)"
                    : $"{kind.Scheme()}:// on TCP {local} (TLS 1.2: PSK, certificates, raw public keys)");
            }
            else
            {
                var where = kind == TransportKind.Udp ? $"coap:// on UDP {local}" : $"{kind.Scheme()}:// on TCP {local}";
                parts.Add(where + " " + (options.PlainMode != PlainMode.Enabled
                    ? "(plain CoAP answered 4.01 \"DTLS required\")"
                    : options.AutoProvisionPlain ? "(plain CoAP, unknown devices auto-provisioned)" : "(plain CoAP)"));
            }
        }
        return parts.Count == 0 ? "CoAP: no endpoint (Gateway:PlainMode=Off and Gateway:DtlsEnabled=false)" : "CoAP: " + string.Join(", ", parts);
    }
}
