namespace NHub.Grains;

[GenerateSerializer, Alias("nhub.PskIdentityState")]
public sealed class PskIdentityState
{
    [Id(0)] public string? DeviceId { get; set; }
    [Id(1)] public Guid CredentialId { get; set; }
}
