using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using NHub.Gateway.Security;

namespace NHub.Gateway.Transport.Dtls;

public static class DtlsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DtlsTransport"/> and <see cref="CredentialCache"/> with options bound from
    /// <c>Gateway:Dtls</c> and <c>Gateway:Credentials</c>, validated at start. The host registers the
    /// <see cref="IPskCredentialSource"/> (the device registry), optionally an <see cref="IDtlsSessionStore"/> (sessions
    /// that outlive the process) and an <see cref="IDeviceCertificateDirectory"/> (certificate and raw-key devices), and
    /// starts the transport with its receiver.
    /// </summary>
    public static IServiceCollection AddDtlsTransport(this IServiceCollection services)
    {
        services.AddOptions<DtlsOptions>().BindConfiguration(DtlsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<CredentialCacheOptions>().BindConfiguration(CredentialCacheOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new CredentialCache(
            sp.GetRequiredService<IPskCredentialSource>(),
            sp.GetRequiredService<IOptions<CredentialCacheOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<CredentialCache>>()));
        services.AddSingleton(sp => new DtlsTransport(
            sp.GetRequiredService<IOptions<DtlsOptions>>().Value,
            sp.GetRequiredService<CredentialCache>(),
            sp.GetRequiredService<ILogger<DtlsTransport>>(),
            sp.GetRequiredService<IMeterFactory>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<GatewayOptions>()?.NodeId ?? 0,
            sp.GetService<IDtlsSessionStore>(),
            sp.GetService<DeviceCertificateAuthenticator>(),
            sp.GetService<ServerCertificate>()));
        return services;
    }

    /// <summary>
    /// Lets devices authenticate with certificates and raw public keys too (the ECDHE-ECDSA suites), looked up in
    /// <typeparamref name="TDirectory"/>; without this call the transport offers PSK suites only.
    /// </summary>
    public static IServiceCollection AddDeviceCertificates<TDirectory>(this IServiceCollection services)
        where TDirectory : class, IDeviceCertificateDirectory
    {
        services.AddSingleton<IDeviceCertificateDirectory, TDirectory>();
        services.AddSingleton(sp => new TrustAnchorCache(sp.GetRequiredService<IDeviceCertificateDirectory>(),
            sp.GetRequiredService<IOptions<CredentialCacheOptions>>().Value, sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILogger<TrustAnchorCache>>()));
        services.AddSingleton(sp => new DeviceCertificateAuthenticator(sp.GetRequiredService<CredentialCache>(), sp.GetRequiredService<TrustAnchorCache>(),
            sp.GetRequiredService<IDeviceCertificateDirectory>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        // One certificate for every secure transport (DTLS, TLS): a client pinning it sees the same on each.
        services.AddSingleton(sp => ServerCertificate.From(sp.GetRequiredService<IOptions<DtlsOptions>>().Value.Certificate,
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }
}
