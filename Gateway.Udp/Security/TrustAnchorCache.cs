using System.Security.Cryptography.X509Certificates;

namespace NHub.Gateway.Security;

/// <summary>
/// The registered certificate authorities as parsed certificates, fetched again when older than
/// <see cref="CredentialCacheOptions.TrustAnchorRefresh"/>. A failed refresh keeps the last set (logged): an authority
/// removed meanwhile is then trusted a little longer, which beats refusing every certificate device while the silo
/// is away. Thread-safe; <see cref="Get"/> blocks (it runs on a handshake thread).
/// </summary>
public sealed partial class TrustAnchorCache(IDeviceCertificateDirectory directory, CredentialCacheOptions options, TimeProvider time, ILogger<TrustAnchorCache> logger)
{
    private readonly Lock _gate = new();
    private Snapshot? _current;

    private sealed record Snapshot(long Version, X509Certificate2Collection Certificates, long FetchedAt);

    /// <summary>The trusted authorities; throws when none could ever be fetched.</summary>
    public X509Certificate2Collection Get(CancellationToken ct)
    {
        var current = Volatile.Read(ref _current);
        if (current is not null && time.GetElapsedTime(current.FetchedAt) < options.TrustAnchorRefresh)
        {
            return current.Certificates;
        }
        lock (_gate)
        {
            current = _current;
            if (current is not null && time.GetElapsedTime(current.FetchedAt) < options.TrustAnchorRefresh)
            {
                return current.Certificates;
            }
            TrustAnchors anchors;
            try
            {
                var pending = directory.GetTrustAnchorsAsync(ct);
                anchors = (pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().WaitAsync(options.LookupTimeout, ct).GetAwaiter().GetResult());
            }
            catch (Exception ex) when (current is not null && ex is not OperationCanceledException)
            {
                LogRefreshFailed(logger, ex, current.Version);
                _current = current with { FetchedAt = time.GetTimestamp() };
                return current.Certificates;
            }
            var certificates = current is not null && current.Version == anchors.Version ? current.Certificates : Parse(anchors);
            _current = new Snapshot(anchors.Version, certificates, time.GetTimestamp());
            return certificates;
        }
    }

    private X509Certificate2Collection Parse(TrustAnchors anchors)
    {
        var collection = new X509Certificate2Collection();
        foreach (var der in anchors.Certificates)
        {
            try
            {
                collection.Add(X509CertificateLoader.LoadCertificate(der));
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                // The API parsed it before storing it; a certificate this runtime cannot read is skipped, not fatal.
                LogUnreadableAuthority(logger, ex, CredentialIdentities.Fingerprint(der));
            }
        }
        return collection;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the trusted certificate authorities failed; keeping version {Version}")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, long version);

    [LoggerMessage(Level = LogLevel.Error, Message = "A registered certificate authority (sha256 {Fingerprint}) cannot be read and is not trusted")]
    private static partial void LogUnreadableAuthority(ILogger logger, Exception exception, string fingerprint);
}
