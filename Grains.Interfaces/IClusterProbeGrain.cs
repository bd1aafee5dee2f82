namespace NHub.Grains;

/// <summary>
/// Operator diagnostics: where activations land and whether streams deliver across processes.
/// Random placement spreads keys over the cluster, so probing several keys shows every silo.
/// </summary>
[Alias("nhub.IClusterProbeGrain")]
public interface IClusterProbeGrain : IGrainWithIntegerKey
{
    /// <summary>The runtime identity of the silo hosting this activation.</summary>
    [Alias("GetSiloIdentity")]
    Task<string> GetSiloIdentity();

    /// <summary>Publishes <paramref name="message"/> on the probe stream <paramref name="streamKey"/> from inside the silo.</summary>
    [Alias("Publish")]
    Task Publish(Guid streamKey, ProbeEvent message);
}

/// <summary>An event sent on the probe stream.</summary>
[GenerateSerializer, Immutable, Alias("nhub.ProbeEvent")]
public sealed record ProbeEvent(
    [property: Id(0)] string Text,
    [property: Id(1)] string FromSilo,
    [property: Id(2)] DateTimeOffset SentAt);
