namespace NHub.Grains;

/// <summary>The deployment's trusted certificate authorities (see <see cref="ICertificateAuthoritiesGrain"/>).</summary>
public sealed class CertificateAuthoritiesGrain(
    [PersistentState("certificate-authorities", GrainStorageNames.Default)] IPersistentState<CertificateAuthoritiesState> state,
    TimeProvider time) : Grain, ICertificateAuthoritiesGrain
{
    public async Task<CertificateAuthorityInfo?> Add(string fingerprint, string subject, DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] certificate)
    {
        if (state.State.Authorities.Exists(a => string.Equals(a.Fingerprint, fingerprint, StringComparison.Ordinal)))
        {
            return null;
        }
        var authority = new CertificateAuthorityInfo(Guid.NewGuid(), fingerprint, subject, notBefore, notAfter, time.GetUtcNow(), certificate);
        state.State.Authorities.Add(authority);
        state.State.Version++;
        await state.WriteStateAsync();
        return authority;
    }

    public Task<IReadOnlyList<CertificateAuthorityInfo>> List() => Task.FromResult<IReadOnlyList<CertificateAuthorityInfo>>([.. state.State.Authorities]);

    public async Task<bool> Remove(Guid id)
    {
        if (state.State.Authorities.RemoveAll(a => a.Id == id) == 0)
        {
            return false;
        }
        state.State.Version++;
        await state.WriteStateAsync();
        return true;
    }

    public Task<TrustAnchors> GetTrustAnchors() =>
        Task.FromResult(new TrustAnchors(state.State.Version, [.. state.State.Authorities.Select(a => a.Certificate)]));
}

[GenerateSerializer, Alias("nhub.CertificateAuthoritiesState")]
public sealed class CertificateAuthoritiesState
{
    [Id(0)] public List<CertificateAuthorityInfo> Authorities { get; set; } = [];
    [Id(1)] public long Version { get; set; }
}
