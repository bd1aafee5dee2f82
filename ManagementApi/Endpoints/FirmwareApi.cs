using System.Buffers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace NHub.ManagementApi.Endpoints;

/// <summary>
/// <c>/firmware</c>: images devices download with CoAP Block2 from <c>/firmware/{version}</c>. A version is immutable
/// once stored (a device may be half way through it): uploading the same bytes again is a no-op, different bytes are
/// refused with 409; delete the version first to replace it.
/// </summary>
public static class FirmwareApi
{
    private const string OctetStream = "application/octet-stream";

    public static RouteGroupBuilder MapFirmwareApi(this RouteGroupBuilder api)
    {
        var firmware = api.MapGroup("/firmware").WithTags("Firmware");

        firmware.MapPut("/{version}", UploadFirmware)
            .WithName("UploadFirmware")
            .WithSummary("Upload a firmware image")
            .WithDescription("Body: the image, Content-Type application/octet-stream, at most ManagementApi:MaxFirmwareBytes (413 beyond). " +
                "version: 1-64 characters of [A-Za-z0-9._-]. 201 when stored; 200 when the same bytes were already stored; 409 when the version holds other bytes.")
            .AcceptsBody<Stream>(OctetStream)
            .Produces<FirmwareResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status409Conflict);

        firmware.MapGet("", ListFirmware)
            .WithName("ListFirmware")
            .WithSummary("List firmware images");

        var image = firmware.MapGroup("/{version}").ProducesBadIdOrNotFound();

        image.MapGet("", GetFirmware)
            .WithName("GetFirmware")
            .WithSummary("Get a firmware image's metadata")
            .WithDescription("Version, size and SHA-256 (not the bytes: devices download those over CoAP).");

        image.MapDelete("", DeleteFirmware)
            .WithName("DeleteFirmware")
            .WithSummary("Delete a firmware image");

        DeviceItems.MapGroup(api, "firmware", "Firmware").MapGet("", GetDeviceFirmware)
            .WithName("GetDeviceFirmwareProgress")
            .WithSummary("Get a device's firmware download progress")
            .WithDescription("download is null until the device has fetched a block of some image.");

        return api;
    }

    public static async Task<Results<Created<FirmwareResponse>, Ok<FirmwareResponse>, ProblemHttpResult>> UploadFirmware(
        string version, HttpContext context, [AsParameters] ApiServices services)
    {
        if (!Identifiers.IsValidFirmwareVersion(version))
        {
            return Problems.Field("version", Identifiers.FirmwareVersionRule);
        }
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals(OctetStream, StringComparison.OrdinalIgnoreCase))
        {
            return Problems.UnsupportedMediaType($"Send the image as {OctetStream} (got '{request.ContentType ?? "no Content-Type"}').");
        }
        var max = services.Options.MaxFirmwareBytes;
        var image = await ReadBoundedAsync(context, max);
        if (image is null)
        {
            return Problems.TooLarge($"A firmware image may be at most {max} bytes (ManagementApi:MaxFirmwareBytes).");
        }
        if (image.Length == 0)
        {
            return Problems.BadRequest("The firmware image is empty.");
        }

        var grain = services.Grains.GetGrain<IFirmwareGrain>(version);
        if (await grain.GetInfo() is { } existing)
        {
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(image));
            return string.Equals(existing.Sha256, sha256, StringComparison.OrdinalIgnoreCase)
                ? TypedResults.Ok(FirmwareResponse.From(existing))
                : Problems.Conflict($"Firmware '{version}' exists with other content (sha256 {existing.Sha256}); versions are immutable. " +
                    "Delete it first to replace it, or upload under a new version.");
        }
        var info = await grain.Store(image);
        ManagementApiLog.FirmwareStored(services.Logger, info.Version, info.Size, info.Sha256);
        return TypedResults.Created(Links.Firmware(version), FirmwareResponse.From(info));
    }

    public static async Task<Ok<FirmwareListResponse>> ListFirmware([AsParameters] ApiServices services)
    {
        var list = await services.Grains.GetGrain<IFirmwareCatalogGrain>(0).List();
        return TypedResults.Ok(new FirmwareListResponse([.. list.OrderBy(f => f.Version, StringComparer.Ordinal).Select(FirmwareResponse.From)]));
    }

    public static async Task<Results<Ok<FirmwareResponse>, ProblemHttpResult>> GetFirmware(string version, [AsParameters] ApiServices services)
    {
        if (!Identifiers.IsValidFirmwareVersion(version))
        {
            return Problems.Field("version", Identifiers.FirmwareVersionRule);
        }
        var info = await services.Grains.GetGrain<IFirmwareCatalogGrain>(0).Find(version);
        return info is null ? Problems.NotFound($"Firmware '{version}' does not exist.") : TypedResults.Ok(FirmwareResponse.From(info));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteFirmware(string version, [AsParameters] ApiServices services)
    {
        if (!Identifiers.IsValidFirmwareVersion(version))
        {
            return Problems.Field("version", Identifiers.FirmwareVersionRule);
        }
        if (!await services.Grains.GetGrain<IFirmwareGrain>(version).Delete())
        {
            return Problems.NotFound($"Firmware '{version}' does not exist.");
        }
        ManagementApiLog.FirmwareDeleted(services.Logger, version);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<DeviceFirmwareResponse>, ProblemHttpResult>> GetDeviceFirmware(
        [FromRoute(Name = "device_id")] string deviceId, [AsParameters] ApiServices services)
    {
        var twin = await services.Grains.GetGrain<IDeviceGrain>(deviceId).GetTwin();
        if (twin is null)
        {
            return Problems.DeviceNotFound(deviceId);
        }
        return TypedResults.Ok(new DeviceFirmwareResponse(deviceId, twin.Firmware is null ? null : FirmwareProgressResponse.From(twin.Firmware)));
    }

    /// <summary>
    /// The body, or null when it is longer than <paramref name="max"/>. A declared Content-Length over the limit is
    /// refused before reading; a chunked body is counted as it arrives, so memory never exceeds the limit.
    /// </summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpContext context, long max)
    {
        var request = context.Request;
        if (request.ContentLength > max)
        {
            return null;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            // Kestrel's default (30 MB) must not cut a legitimate image short, nor let a bigger one through.
            size.MaxRequestBodySize = max;
        }
        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 64 * 1024);
        var chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > max)
                {
                    return null;
                }
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }
}
