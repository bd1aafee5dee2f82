using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// The certificate platform (PostgreSQL, JetStream, a gateway certificate clients verify with <c>-R</c>, a registered
/// device authority) with plain CoAP served (<c>Gateway:PlainMode=Enabled</c>), so that one silo offers every
/// transport: coap+tcp and coaps+tcp on TCP, coap+ws at /.well-known/coap on its HTTP port, coaps+ws on its HTTPS port.
/// </summary>
public sealed class ReliableTransportsPlatform : IAsyncLifetime
{
    public ReliableTransportsPlatform()
    {
        HttpsPort = FreePorts.Next();
        Certificates = new(new Dictionary<string, string?> { ["Gateway:PlainMode"] = "Enabled" }, HttpsPort);
    }

    public CertificatePlatform Certificates { get; }

    /// <summary>The silo's HTTPS port (the gateway's certificate): coaps+ws.</summary>
    public int HttpsPort { get; }

    public string WssBase => $"coaps+ws://127.0.0.1:{HttpsPort}";

    public ProductionPlatform Platform => Certificates.Platform;

    public string TcpBase => $"coap+tcp://127.0.0.1:{Platform.Silo.CoapPort}";

    public string TlsBase => $"coaps+tcp://127.0.0.1:{Platform.Silo.CoapsPort}";

    public string WsBase => $"coap+ws://127.0.0.1:{Platform.Silo.HttpPort}";

    public Task InitializeAsync() => Certificates.InitializeAsync();

    public Task DisposeAsync() => Certificates.DisposeAsync();
}
