namespace NHub.Grains;

[GenerateSerializer, Alias("nhub.PskIdentityState")]
public sealed class PskIdentityState
{
    [Id(0)] public string? DeviceId { get; set; }
    [Id(1)] public Guid CredentialId { get; set; }

    /// <summary>A certificate's or raw key's name that was revoked: never bound again.</summary>
    [Id(2)] public bool Revoked { get; set; }
}
