namespace NHub.Gateway.Security;

/// <summary>
/// What a gateway asks the platform about device certificates, besides the credential lookup every auth type shares
/// (<see cref="CredentialCache"/>): the authorities the deployment trusts, and the enrollment of a certificate one of
/// them issued that the device's twin has not seen yet.
/// </summary>
public interface IDeviceCertificateDirectory
{
    ValueTask<TrustAnchors> GetTrustAnchorsAsync(CancellationToken ct);

    ValueTask<EnrollOutcome> EnrollAsync(string deviceId, KeyCredentialFacts facts, CancellationToken ct);
}
