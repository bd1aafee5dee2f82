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
    /// that outlive the process), and starts the transport with its receiver.
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
            sp.GetService<IDtlsSessionStore>()));
        return services;
    }
}
