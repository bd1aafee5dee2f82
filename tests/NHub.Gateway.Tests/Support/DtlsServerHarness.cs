using System.Net;
using NHub.Gateway.Security;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.Gateway.Tests.Support;

/// <summary>A started <see cref="DtlsTransport"/> on 127.0.0.1 (free port) with the echo receiver and an in-memory registry.</summary>
public sealed class DtlsServerHarness : IAsyncDisposable
{
    public const string Identity = "koru-869181072798893";
    public const string Key = "secret-psk-0123456789abcdef";

    /// <summary>Starts the transport; the layer above is <see cref="Receiver"/> (the echo stand-in) unless <paramref name="receiver"/> builds another, e.g. a real CoAP endpoint.</summary>
    public DtlsServerHarness(Action<DtlsOptions>? configure = null, TimeProvider? time = null, CredentialCacheOptions? cacheOptions = null,
        int nodeId = 0, Func<DtlsTransport, IDatagramReceiver>? receiver = null, IDtlsSessionStore? store = null, bool certificates = false)
    {
        Source.Add(Identity, Key);
        Options = new DtlsOptions { BindAddress = "127.0.0.1", Port = 0 };
        configure?.Invoke(Options);
        var credentialOptions = cacheOptions ?? new CredentialCacheOptions();
        Cache = new CredentialCache(Source, credentialOptions, time);
        Certificates = new InMemoryCertificateDirectory(Source);
        var authenticator = certificates
            ? new DeviceCertificateAuthenticator(Cache, new TrustAnchorCache(Certificates, credentialOptions, time ?? TimeProvider.System,
                Microsoft.Extensions.Logging.Abstractions.NullLogger<TrustAnchorCache>.Instance), Certificates, time ?? TimeProvider.System)
            : null;
        Transport = new DtlsTransport(Options, Cache, Log, Meters, time, nodeId, store, authenticator);
        Receiver.Transport = Transport;
        Transport.Start(receiver?.Invoke(Transport) ?? Receiver);
    }

    public DtlsOptions Options { get; }

    public ListLogger<DtlsTransport> Log { get; } = new();

    public InMemoryPskSource Source { get; } = new();

    public CredentialCache Cache { get; }

    /// <summary>Authorities and devices for certificate handshakes (used when started with <c>certificates: true</c>).</summary>
    public InMemoryCertificateDirectory Certificates { get; }

    public TestMeterFactory Meters { get; } = new();

    public EchoCoapReceiver Receiver { get; } = new();

    public DtlsTransport Transport { get; }

    public IPEndPoint EndPoint => (IPEndPoint)Transport.LocalEndPoint;

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        Meters.Dispose();
    }
}
