namespace NHub.Grains.Devices;

/// <summary>A stored DTLS session as its device's twin records it: enough to find it again when the credential is revoked.</summary>
[GenerateSerializer, Alias("nhub.DtlsSessionRef")]
public sealed class DtlsSessionRef
{
    /// <summary>The session grain's key: the receive Connection ID in lowercase hex.</summary>
    [Id(0)] public string ConnectionId { get; set; } = "";
    [Id(1)] public string PskIdentity { get; set; } = "";
    [Id(2)] public DateTimeOffset AddedAt { get; set; }
}
