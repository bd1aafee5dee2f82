using System.Security.Cryptography;
using System.Text;
using NHub.Grains.Services;
using Orleans.Streams;

namespace NHub.Grains.Devices;

public sealed partial class DeviceGrain
{
    public async Task<IssueCredentialResult> IssueCredential(PskFormat format)
    {
        if (!Exists)
        {
            return new IssueCredentialResult(IssueOutcome.UnknownDevice, null);
        }
        foreach (var c in state.State.Credentials)
        {
            // One PSK at a time: its identity is prefix-device_id. Certificates and raw keys beside it do not count.
            if (c.Status == CredentialStatus.Active && c.EffectiveAuthType == CredentialAuthTypes.Psk)
            {
                return new IssueCredentialResult(IssueOutcome.ActiveCredentialExists, null);
            }
        }

        var id = Guid.NewGuid();
        var identity = $"{credentialOptions.Value.IdentityPrefix}-{DeviceId}";
        // 32 random bytes, issued as 64 lower-case hex characters (the guide's "random-32-byte-hex").
        var secret = RandomNumberGenerator.GetBytes(32);
        var hex = Convert.ToHexStringLower(secret);
        var key = format == PskFormat.Binary ? secret : Encoding.ASCII.GetBytes(hex);

        // Index first: if the state write below fails, the identity resolves to no active credential (harmless).
        if (!await GrainFactory.GetGrain<IPskIdentityGrain>(identity).Bind(DeviceId, id))
        {
            throw new InvalidOperationException($"PSK identity '{identity}' is bound to another device");
        }
        var credential = new CredentialState
        {
            Id = id,
            PskIdentity = identity,
            PskFormat = format,
            ProtectedKey = protector.Protect(key, id),
            Status = CredentialStatus.Active,
            CreatedAt = time.GetUtcNow(),
        };
        CryptographicOperations.ZeroMemory(secret);
        state.State.Credentials.Add(credential);
        await state.WriteStateAsync();
        return new IssueCredentialResult(IssueOutcome.Issued, new IssuedCredential(credential.ToSummary(), hex));
    }

    public async Task<IssueCredentialResult> RegisterKeyCredential(KeyCredentialFacts facts)
    {
        if (!Exists)
        {
            return new IssueCredentialResult(IssueOutcome.UnknownDevice, null);
        }
        if (state.State.Credentials.Exists(c => string.Equals(c.PskIdentity, facts.Identity, StringComparison.Ordinal)))
        {
            return new IssueCredentialResult(IssueOutcome.DuplicateCredential, null);
        }
        var (bound, credential) = await AddKeyCredentialAsync(facts, CredentialSource.Pinned);
        return bound switch
        {
            KeyBindOutcome.Bound => new IssueCredentialResult(IssueOutcome.Issued, new IssuedCredential(credential!.ToSummary(), "")),
            KeyBindOutcome.Revoked => new IssueCredentialResult(IssueOutcome.RevokedCredential, null),
            _ => new IssueCredentialResult(IssueOutcome.BoundToAnotherDevice, null),
        };
    }

    public async Task<EnrollOutcome> EnrollCertificate(KeyCredentialFacts facts)
    {
        if (!Exists)
        {
            return EnrollOutcome.UnknownDevice;
        }
        if (state.State.Credentials.Find(c => string.Equals(c.PskIdentity, facts.Identity, StringComparison.Ordinal)) is { } known)
        {
            return known.Status == CredentialStatus.Active ? EnrollOutcome.Enrolled : EnrollOutcome.Revoked;
        }
        return (await AddKeyCredentialAsync(facts, CredentialSource.CertificateAuthority)).Outcome switch
        {
            KeyBindOutcome.Bound => EnrollOutcome.Enrolled,
            KeyBindOutcome.Revoked => EnrollOutcome.Revoked,
            _ => EnrollOutcome.BoundToAnotherDevice,
        };
    }

    /// <summary>Index first, as for a PSK: a failed state write leaves an identity that resolves to nothing. The credential only when bound.</summary>
    private async Task<(KeyBindOutcome Outcome, CredentialState? Credential)> AddKeyCredentialAsync(KeyCredentialFacts facts, CredentialSource source)
    {
        if (facts.AuthType is not (CredentialAuthTypes.X509 or CredentialAuthTypes.Rpk) || !CredentialIdentities.IsKeyIdentity(facts.Identity))
        {
            throw new ArgumentException($"not a certificate or raw-key credential: {facts.AuthType} {facts.Identity}", nameof(facts));
        }
        var id = Guid.NewGuid();
        var bound = await GrainFactory.GetGrain<IPskIdentityGrain>(facts.Identity).BindKey(DeviceId, id);
        if (bound != KeyBindOutcome.Bound)
        {
            return (bound, null);
        }
        var credential = new CredentialState
        {
            Id = id,
            PskIdentity = facts.Identity,
            AuthType = facts.AuthType,
            Fingerprint = facts.Fingerprint,
            Subject = facts.Subject,
            NotAfter = facts.NotAfter,
            Source = source,
            Status = CredentialStatus.Active,
            CreatedAt = time.GetUtcNow(),
        };
        state.State.Credentials.Add(credential);
        await state.WriteStateAsync();
        await events.PublishAsync(new DeviceEvent(DeviceId, DeviceEventTypes.CredentialAdded, credential.CreatedAt,
            new Dictionary<string, object?> { ["credential_id"] = id, ["auth_type"] = facts.AuthType, ["fingerprint"] = facts.Fingerprint, ["source"] = source == CredentialSource.Pinned ? "pinned" : "certificate_authority" }));
        return (KeyBindOutcome.Bound, credential);
    }

    public Task<IReadOnlyList<CredentialSummary>?> ListCredentials()
    {
        if (!Exists)
        {
            return Task.FromResult<IReadOnlyList<CredentialSummary>?>(null);
        }
        var list = new List<CredentialSummary>(state.State.Credentials.Count);
        foreach (var c in state.State.Credentials)
        {
            list.Add(c.ToSummary());
        }
        return Task.FromResult<IReadOnlyList<CredentialSummary>?>(list);
    }

    public async Task<bool> RevokeCredential(Guid credentialId)
    {
        var credential = state.State.Credentials.Find(c => c.Id == credentialId);
        if (!Exists || credential is null)
        {
            return false;
        }
        if (credential.Status == CredentialStatus.Revoked)
        {
            return true;
        }
        var now = time.GetUtcNow();
        credential.Status = CredentialStatus.Revoked;
        credential.RevokedAt = now;
        var sessions = ForgetDtlsSessions(credential.PskIdentity);
        await state.WriteStateAsync();
        await MarkKeyRevokedAsync(credential);
        EraseSessionsInBackground(sessions, "credential revoked");
        await EraseTableSessionsAsync([credential.PskIdentity], wholeDevice: false, "credential revoked");
        await BroadcastRevocationAsync(credential, now);
        return true;
    }

    public Task<PskLookup?> GetPsk(string pskIdentity)
    {
        CredentialState? revoked = null;
        foreach (var c in state.State.Credentials)
        {
            if (!string.Equals(c.PskIdentity, pskIdentity, StringComparison.Ordinal))
            {
                continue;
            }
            if (c.Status == CredentialStatus.Active)
            {
                var key = c.EffectiveAuthType == CredentialAuthTypes.Psk ? protector.Unprotect(c.ProtectedKey, c.Id) : [];
                return Task.FromResult<PskLookup?>(new PskLookup(DeviceId, c.Id, key, CredentialStatus.Active, c.EffectiveAuthType, c.Source == CredentialSource.Pinned));
            }
            revoked = c;
        }
        return Task.FromResult(revoked is null ? null : new PskLookup(DeviceId, revoked.Id, [], CredentialStatus.Revoked, revoked.EffectiveAuthType));
    }

    /// <summary>A certificate or raw key, unlike a PSK identity, stays revoked for good (see <see cref="IPskIdentityGrain.BindKey"/>).</summary>
    private Task MarkKeyRevokedAsync(CredentialState credential) => credential.EffectiveAuthType == CredentialAuthTypes.Psk
        ? Task.CompletedTask
        : GrainFactory.GetGrain<IPskIdentityGrain>(credential.PskIdentity).MarkRevoked();

    /// <summary>Every gateway subscribes to the revocation stream: caches drop the identity and live sessions close.</summary>
    private async Task BroadcastRevocationAsync(CredentialState credential, DateTimeOffset at)
    {
        var stream = this.GetStreamProvider(PlatformStreams.ProviderName)
            .GetStream<CredentialRevoked>(StreamId.Create(PlatformStreams.CredentialRevocations, Guid.Empty));
        await stream.OnNextAsync(new CredentialRevoked(DeviceId, credential.PskIdentity, at));
        await events.PublishAsync(new DeviceEvent(DeviceId, DeviceEventTypes.CredentialRevoked, at,
            new Dictionary<string, object?> { ["credential_id"] = credential.Id, ["psk_identity"] = credential.PskIdentity }));
    }
}
