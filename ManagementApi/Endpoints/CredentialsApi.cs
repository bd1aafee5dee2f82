namespace NHub.ManagementApi.Endpoints;

/// <summary>
/// <c>/devices/{device_id}/credentials</c>: the provisioning flow of the CoAP client guide. PSK credentials: the key is
/// returned by the issuing POST only, and a device has at most one active PSK (its identity is
/// <c>&lt;prefix&gt;-&lt;device_id&gt;</c>), so rotation is: revoke the old credential, issue a new one, configure it.
/// Certificates (x509, pinned) and raw public keys (rpk) are registered, several per device if need be; a revocation
/// of any of them drops its live sessions on every gateway (docs/device-certificates.md).
/// </summary>
public static class CredentialsApi
{
    public const string PskAuthType = "psk";

    public static RouteGroupBuilder MapCredentialsApi(this RouteGroupBuilder api)
    {
        var credentials = DeviceItems.MapGroup(api, "credentials", "Credentials");

        credentials.MapPost("", IssueCredential)
            .WithName("IssueCredential")
            .WithSummary("Issue a PSK credential, or register a certificate or raw public key")
            .WithDescription("auth_type psk: returns id, auth_type, psk_identity, psk_key, server and status; the psk_key appears in this response only; " +
                "409 while the device has an active PSK: revoke it first (rotation). auth_type x509 with certificate (PEM; subject CN = the device id): " +
                "pins that certificate. auth_type rpk with public_key (PEM SubjectPublicKeyInfo): the device's raw public key (RFC 7250). " +
                "Both return id, auth_type, psk_identity, fingerprint, subject, not_after, source, server and status (KeyCredentialResponse); " +
                "409 when the key is registered already or was revoked.")
            .AcceptsJson<IssueCredentialRequest>()
            .ProducesProblem(StatusCodes.Status409Conflict);

        credentials.MapGet("", ListCredentials)
            .WithName("ListCredentials")
            .WithSummary("List a device's credentials")
            .WithDescription("Active and revoked credentials, without keys.");

        credentials.MapGet("/{credential_id:guid}", GetCredential)
            .WithName("GetCredential")
            .WithSummary("Get one credential")
            .WithDescription("The credential without its key.");

        credentials.MapDelete("/{credential_id:guid}", RevokeCredential)
            .WithName("RevokeCredential")
            .WithSummary("Revoke a credential")
            .WithDescription("Revokes the credential and pushes the revocation to every gateway: live DTLS sessions using it are dropped " +
                "and new handshakes with it fail.");

        return api;
    }

    /// <remarks>OpenAPI can show one body per status: the 201 documented is the guide's (PSK) one, the last in the union.</remarks>
    public static async Task<Results<Created<KeyCredentialResponse>, Created<IssuedCredentialResponse>, ProblemHttpResult>> IssueCredential(
        [FromRoute(Name = "device_id")] string deviceId, JsonBody<IssueCredentialRequest> body, HttpResponse response, [AsParameters] ApiServices services)
    {
        var request = body.Value;
        switch (request.AuthType)
        {
            case CredentialAuthTypes.Psk:
                return await IssuePskAsync(deviceId, request, response, services);
            case CredentialAuthTypes.X509 or CredentialAuthTypes.Rpk:
                return await RegisterKeyAsync(deviceId, request, services);
            case null or "":
                return Problems.Field("auth_type", "is required: 'psk', 'x509' or 'rpk'");
            default:
                return Problems.Field("auth_type", "must be 'psk' (DTLS PSK), 'x509' (a device certificate) or 'rpk' (a raw public key)");
        }
    }

    private static async Task<Results<Created<KeyCredentialResponse>, Created<IssuedCredentialResponse>, ProblemHttpResult>> IssuePskAsync(
        string deviceId, IssueCredentialRequest request, HttpResponse response, ApiServices services)
    {
        var errors = new FieldErrors();
        var format = PskFormat.Ascii;
        switch (request.PskFormat)
        {
            case null or "ascii":
                break;
            case "binary":
                format = PskFormat.Binary;
                break;
            default:
                errors.Add("psk_format", "must be 'ascii' or 'binary'");
                break;
        }
        if (request.Certificate is not null || request.PublicKey is not null)
        {
            errors.Add(request.Certificate is not null ? "certificate" : "public_key", "is for auth_type 'x509' or 'rpk', not 'psk'");
        }
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var result = await services.Grains.GetGrain<IDeviceGrain>(deviceId).IssueCredential(format);
        switch (result.Outcome)
        {
            case IssueOutcome.Issued when result.Credential is { } issued:
                ManagementApiLog.CredentialIssued(services.Logger, deviceId, issued.Summary.Id, issued.Summary.PskIdentity);
                // The key is in this body only: no cache may keep it.
                response.Headers.CacheControl = "no-store";
                return TypedResults.Created(Links.Credential(deviceId, issued.Summary.Id),
                    IssuedCredentialResponse.From(issued, services.Options.CoapsServerUri));
            case IssueOutcome.UnknownDevice:
                return Problems.DeviceNotFound(deviceId);
            case IssueOutcome.ActiveCredentialExists:
                return Problems.Conflict($"Device '{deviceId}' already has an active PSK credential. To rotate, revoke it " +
                    $"(DELETE .../credentials/{{credential_id}}), then issue a new one.");
            default:
                throw new InvalidOperationException($"Unexpected issue outcome {result.Outcome}");
        }
    }

    /// <summary>
    /// x509: the device's own certificate, pinned by its SHA-256 (no authority needed; its subject CN must be the device
    /// id, and it must be valid now). rpk: the device's public key (RFC 7250). Devices whose certificates a registered
    /// authority issued need no credential here: the gateway records theirs at the first handshake.
    /// </summary>
    private static async Task<Results<Created<KeyCredentialResponse>, Created<IssuedCredentialResponse>, ProblemHttpResult>> RegisterKeyAsync(
        string deviceId, IssueCredentialRequest request, ApiServices services)
    {
        KeyCredentialFacts facts;
        if (request.AuthType == CredentialAuthTypes.X509)
        {
            if (request.PskFormat is not null || request.PublicKey is not null)
            {
                return Problems.Field(request.PskFormat is not null ? "psk_format" : "public_key", "is not for auth_type 'x509'");
            }
            using var certificate = KeyMaterialReader.ReadCertificate(request.Certificate, out var error);
            if (certificate is null)
            {
                return Problems.Field("certificate", error!);
            }
            string? named;
            try
            {
                named = CredentialIdentities.DeviceIdOf(certificate);
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                return Problems.Field("certificate", "has a subject name that cannot be decoded");
            }
            if (named != deviceId)
            {
                return Problems.Field("certificate", $"its subject CN must be the device id '{deviceId}' (the subject is '{certificate.Subject}')");
            }
            var now = services.Time.GetUtcNow();
            if (now > certificate.NotAfter.ToUniversalTime() || now < certificate.NotBefore.ToUniversalTime())
            {
                return Problems.Field("certificate", $"is not valid now (valid {certificate.NotBefore.ToUniversalTime():O} to {certificate.NotAfter.ToUniversalTime():O})");
            }
            facts = new KeyCredentialFacts(CredentialAuthTypes.X509, CredentialIdentities.ForCertificate(certificate.RawData),
                CredentialIdentities.Fingerprint(certificate.RawData), certificate.Subject, new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));
        }
        else
        {
            if (request.PskFormat is not null || request.Certificate is not null)
            {
                return Problems.Field(request.PskFormat is not null ? "psk_format" : "certificate", "is not for auth_type 'rpk'");
            }
            if (KeyMaterialReader.ReadPublicKey(request.PublicKey, out var error) is not { } publicKey)
            {
                return Problems.Field("public_key", error!);
            }
            facts = new KeyCredentialFacts(CredentialAuthTypes.Rpk, CredentialIdentities.ForPublicKey(publicKey), CredentialIdentities.Fingerprint(publicKey), null, null);
        }

        var result = await services.Grains.GetGrain<IDeviceGrain>(deviceId).RegisterKeyCredential(facts);
        switch (result.Outcome)
        {
            case IssueOutcome.Issued when result.Credential is { } issued:
                ManagementApiLog.CredentialIssued(services.Logger, deviceId, issued.Summary.Id, issued.Summary.PskIdentity);
                return TypedResults.Created(Links.Credential(deviceId, issued.Summary.Id), KeyCredentialResponse.From(issued.Summary, services.Options.CoapsServerUri));
            case IssueOutcome.UnknownDevice:
                return Problems.DeviceNotFound(deviceId);
            case IssueOutcome.DuplicateCredential:
                return Problems.Conflict($"Device '{deviceId}' already has this {(facts.AuthType == CredentialAuthTypes.X509 ? "certificate" : "public key")} " +
                    $"(sha256 {facts.Fingerprint}); a revoked one stays revoked: register a new key.");
            case IssueOutcome.RevokedCredential:
                return Problems.Conflict($"This {(facts.AuthType == CredentialAuthTypes.X509 ? "certificate" : "public key")} (sha256 {facts.Fingerprint}) was revoked " +
                    "and stays refused, on every device: give the device a new key.");
            case IssueOutcome.BoundToAnotherDevice:
                return Problems.Conflict($"This {(facts.AuthType == CredentialAuthTypes.X509 ? "certificate" : "public key")} (sha256 {facts.Fingerprint}) is registered to another device.");
            default:
                throw new InvalidOperationException($"Unexpected issue outcome {result.Outcome}");
        }
    }

    public static async Task<Results<Ok<CredentialListResponse>, ProblemHttpResult>> ListCredentials(
        [FromRoute(Name = "device_id")] string deviceId, [AsParameters] ApiServices services) =>
        DeviceItems.List(deviceId, await services.Grains.GetGrain<IDeviceGrain>(deviceId).ListCredentials(),
            items => new CredentialListResponse([.. items.Select(CredentialResponse.From)]));

    public static async Task<Results<Ok<CredentialResponse>, ProblemHttpResult>> GetCredential(
        [FromRoute(Name = "device_id")] string deviceId, [FromRoute(Name = "credential_id")] Guid credentialId, [AsParameters] ApiServices services) =>
        DeviceItems.One(deviceId, await services.Grains.GetGrain<IDeviceGrain>(deviceId).ListCredentials(), credentialId, c => c.Id, CredentialResponse.From, "credential");

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeCredential(
        [FromRoute(Name = "device_id")] string deviceId, [FromRoute(Name = "credential_id")] Guid credentialId, [AsParameters] ApiServices services)
    {
        if (!await services.Grains.GetGrain<IDeviceGrain>(deviceId).RevokeCredential(credentialId))
        {
            return Problems.NotFound($"Device '{deviceId}' has no credential '{credentialId}'.");
        }
        ManagementApiLog.CredentialRevoked(services.Logger, deviceId, credentialId);
        return TypedResults.NoContent();
    }
}
