using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using NHub.Grains;
using NHub.ManagementApi.Contracts;
using NHub.ManagementApi.Http;

namespace NHub.ManagementApi.Endpoints;

/// <summary>
/// <c>/devices/{device_id}/credentials</c>: PSK credentials, the provisioning flow of the CoAP client guide. The key is
/// returned by the issuing POST only. A device has at most one active credential (its PSK identity is
/// <c>&lt;prefix&gt;-&lt;device_id&gt;</c>), so rotation is: revoke the old credential, issue a new one, configure it.
/// </summary>
public static class CredentialsApi
{
    public const string PskAuthType = "psk";

    public static RouteGroupBuilder MapCredentialsApi(this RouteGroupBuilder api)
    {
        var credentials = DeviceItems.MapGroup(api, "credentials", "Credentials");

        credentials.MapPost("", IssueCredential)
            .WithName("IssueCredential")
            .WithSummary("Issue a PSK credential")
            .WithDescription("Returns id, auth_type, psk_identity, psk_key, server and status. The psk_key appears in this response only. " +
                "409 while the device has an active credential: revoke it first (rotation).")
            .Accepts<IssueCredentialRequest>("application/json")
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

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

    public static async Task<Results<Created<IssuedCredentialResponse>, ProblemHttpResult>> IssueCredential(
        [FromRoute(Name = "device_id")] string deviceId, JsonBody<IssueCredentialRequest> body, HttpResponse response, [AsParameters] ApiServices services)
    {
        if (body.Problem is { } bad)
        {
            return bad;
        }
        var request = body.Value!;
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.AuthType))
        {
            errors.Add("auth_type", "is required; the only supported value is 'psk'");
        }
        else if (!string.Equals(request.AuthType, PskAuthType, StringComparison.Ordinal))
        {
            errors.Add("auth_type", "the only supported value is 'psk' (DTLS 1.2 PSK)");
        }
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
                return Problems.Conflict($"Device '{deviceId}' already has an active credential. To rotate, revoke it " +
                    $"(DELETE .../credentials/{{credential_id}}), then issue a new one.");
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
