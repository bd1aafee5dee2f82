using Microsoft.Extensions.Options;

namespace NHub.ManagementApi.Http;

/// <summary>What every handler needs, injected as one <c>[AsParameters]</c> argument (eShop's CatalogServices).</summary>
public sealed class ApiServices(IGrainFactory grains, IOptions<ManagementApiOptions> settings, ILogger<ApiServices> logger, TimeProvider time)
{
    public TimeProvider Time { get; } = time;

    public IGrainFactory Grains { get; } = grains;
    public IOptions<ManagementApiOptions> Settings { get; } = settings;
    public ILogger<ApiServices> Logger { get; } = logger;

    public ManagementApiOptions Options => Settings.Value;
}
