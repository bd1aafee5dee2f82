namespace NHub.Grains.Sessions;

/// <summary>
/// Persisted state of one stored DTLS session (<see cref="DtlsSessionGrain"/>): the snapshot with its secrets
/// encrypted, who owns it and how far its write sequence numbers are reserved. Empty (<see cref="SessionKey"/> null)
/// when there is no session under this key.
/// </summary>
[GenerateSerializer, Alias("nhub.DtlsSessionState")]
public sealed class DtlsSessionState
{
    [Id(0)] public string? SessionKey { get; set; }
    [Id(1)] public string DeviceId { get; set; } = "";
    [Id(2)] public string PskIdentity { get; set; } = "";
    [Id(3)] public int CipherSuite { get; set; }
    [Id(4)] public bool EncryptThenMac { get; set; }

    /// <summary>
    /// <see cref="DtlsSessionSnapshot.Secrets"/> encrypted under the master key, bound to this record
    /// (<see cref="DtlsSessionGrain"/> associated data: grain key and session key).
    /// </summary>
    [Id(5)] public byte[] ProtectedSecrets { get; set; } = [];

    [Id(6)] public byte[] ReceiveConnectionId { get; set; } = [];
    [Id(7)] public byte[]? SendConnectionId { get; set; }
    [Id(8)] public DateTimeOffset EstablishedAt { get; set; }

    /// <summary>The gateway allowed to send with this session; <see cref="Guid.Empty"/> after a release.</summary>
    [Id(9)] public Guid Owner { get; set; }

    /// <summary>Exclusive end of the write sequence numbers handed out so far (never decreases).</summary>
    [Id(10)] public long WriteSequenceLimit { get; set; }

    [Id(11)] public DtlsReplayMark Replay { get; set; } = new(0, 0);
    [Id(12)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(13)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The owning copy's lease (Guid.Empty after a release): Extend, Release and Remove must present it.</summary>
    [Id(14)] public Guid Lease { get; set; }
}
