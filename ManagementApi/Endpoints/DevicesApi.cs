using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using NHub.Grains;
using NHub.ManagementApi.Contracts;
using NHub.ManagementApi.Http;

namespace NHub.ManagementApi.Endpoints;

/// <summary><c>/devices</c>: create, list, read, update and delete device twins.</summary>
public static class DevicesApi
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;
    public const int MaxSearchLength = 128;

    public static RouteGroupBuilder MapDevicesApi(this RouteGroupBuilder api)
    {
        var devices = api.MapGroup("/devices").WithTags("Devices");

        devices.MapPost("", CreateDevice)
            .WithName("CreateDevice")
            .WithSummary("Create a device")
            .WithDescription("Creates the device twin. 409 when a device with this device_id exists.")
            .Accepts<CreateDeviceRequest>("application/json")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        devices.MapGet("", ListDevices)
            .WithName("ListDevices")
            .WithSummary("List devices")
            .WithDescription("Pages through the device registry (no twin is activated). Query: offset (default 0), " +
                $"limit (1-{MaxPageSize}, default {DefaultPageSize}), online=true|false, search (substring of device_id, serial or imei).")
            .ProducesValidationProblem();

        devices.MapGet("/{device_id}", GetDevice)
            .WithName("GetDevice")
            .WithSummary("Get a device twin")
            .WithDescription("Record, online status, last seen, last peer, transport, credentials (without keys), pending command count and firmware progress.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        devices.MapPatch("/{device_id}", UpdateDevice)
            .WithName("UpdateDevice")
            .WithSummary("Update a device record")
            .WithDescription("Partial update of model, serial, imei and sim: absent or null fields are unchanged, an empty string clears a field.")
            .Accepts<UpdateDeviceRequest>("application/json", "application/merge-patch+json")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        devices.MapDelete("/{device_id}", DeleteDevice)
            .WithName("DeleteDevice")
            .WithSummary("Delete a device")
            .WithDescription("Revokes every credential (live DTLS sessions are dropped), cancels pending commands and forgets the device.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        return api;
    }

    public static async Task<Results<Created<DeviceResponse>, ProblemHttpResult>> CreateDevice(
        JsonBody<CreateDeviceRequest> body, [AsParameters] ApiServices services)
    {
        if (body.Problem is { } bad)
        {
            return bad;
        }
        var request = body.Value!;
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.DeviceId))
        {
            errors.Add("device_id", "is required");
        }
        else if (!DeviceIds.IsValid(request.DeviceId))
        {
            errors.Add("device_id", Identifiers.DeviceIdRule);
        }
        CheckRecordFields(errors, request.Model, request.Serial, request.Imei, request.Sim);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var deviceId = request.DeviceId!;
        var device = services.Grains.GetGrain<IDeviceGrain>(deviceId);
        var sim = request.Sim is null ? null : new SimDetails(Blank(request.Sim.Iccid), Blank(request.Sim.Msisdn), Blank(request.Sim.Operator));
        // Create-if-absent runs inside the grain, so of two racing creates of one id exactly one gets 201.
        var twin = await device.Create(new DeviceRecord(deviceId, Blank(request.Model), Blank(request.Serial), Blank(request.Imei), sim));
        if (twin is null)
        {
            return Problems.Conflict($"Device '{deviceId}' already exists; PATCH it to change its record.");
        }
        ManagementApiLog.DeviceCreated(services.Logger, deviceId);
        return TypedResults.Created(Links.Device(deviceId), DeviceResponse.From(twin));
    }

    public static async Task<Results<Ok<DevicePageResponse>, ProblemHttpResult>> ListDevices(
        [FromQuery] string? offset, [FromQuery] string? limit, [FromQuery] string? online, [FromQuery] string? search,
        [AsParameters] ApiServices services)
    {
        // Query values are parsed here, not by the binder, so a bad one is a field error rather than an empty 400.
        var errors = new FieldErrors();
        var (from, size) = Paging.Parse(errors, offset, limit, DefaultPageSize, MaxPageSize);
        var filter = OnlineFilter.Any;
        if (online is not null)
        {
            if (bool.TryParse(online, out var value))
            {
                filter = value ? OnlineFilter.Online : OnlineFilter.Offline;
            }
            else
            {
                errors.Add("online", "must be true or false");
            }
        }
        // Free text that reaches PostgreSQL: bounded, and no control characters (a NUL is not valid in a text value).
        errors.Text("search", search, MaxSearchLength);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var query = new DeviceQuery(string.IsNullOrWhiteSpace(search) ? null : search.Trim(), filter, from, size);
        var page = await services.Grains.GetGrain<IDeviceRegistryGrain>(0).Query(query);
        return TypedResults.Ok(new DevicePageResponse([.. page.Items.Select(DeviceSummaryResponse.From)], page.Total, from, size));
    }

    public static async Task<Results<Ok<DeviceResponse>, ProblemHttpResult>> GetDevice(
        [FromRoute(Name = "device_id")] string deviceId, [AsParameters] ApiServices services)
    {
        var twin = await services.Grains.GetGrain<IDeviceGrain>(deviceId).GetTwin();
        return twin is null ? Problems.DeviceNotFound(deviceId) : TypedResults.Ok(DeviceResponse.From(twin));
    }

    public static async Task<Results<Ok<DeviceResponse>, ProblemHttpResult>> UpdateDevice(
        [FromRoute(Name = "device_id")] string deviceId, JsonBody<UpdateDeviceRequest> body, [AsParameters] ApiServices services)
    {
        if (body.Problem is { } bad)
        {
            return bad;
        }
        var request = body.Value!;
        var errors = new FieldErrors();
        CheckRecordFields(errors, request.Model, request.Serial, request.Imei, request.Sim);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        // The merge runs inside the grain: concurrent PATCHes of different fields both land.
        var sim = request.Sim is null ? null : new SimDetails(request.Sim.Iccid, request.Sim.Msisdn, request.Sim.Operator);
        var updated = await services.Grains.GetGrain<IDeviceGrain>(deviceId).Update(new DeviceRecordPatch(request.Model, request.Serial, request.Imei, sim));
        if (updated is null)
        {
            return Problems.DeviceNotFound(deviceId);
        }
        ManagementApiLog.DeviceUpdated(services.Logger, deviceId);
        return TypedResults.Ok(DeviceResponse.From(updated));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteDevice(
        [FromRoute(Name = "device_id")] string deviceId, [AsParameters] ApiServices services)
    {
        if (!await services.Grains.GetGrain<IDeviceGrain>(deviceId).Delete())
        {
            return Problems.DeviceNotFound(deviceId);
        }
        ManagementApiLog.DeviceDeleted(services.Logger, deviceId);
        return TypedResults.NoContent();
    }

    private static void CheckRecordFields(FieldErrors errors, string? model, string? serial, string? imei, SimDto? sim)
    {
        errors.Text("model", model, 128);
        errors.Text("serial", serial, 64);
        errors.Text("imei", imei, 32);
        if (sim is not null)
        {
            errors.Text("sim.iccid", sim.Iccid, 32);
            errors.Text("sim.msisdn", sim.Msisdn, 32);
            errors.Text("sim.operator", sim.Operator, 128);
        }
    }

    /// <summary>On create, an empty string is stored as absent (the PATCH rule lives in <see cref="DeviceRecordPatch"/>).</summary>
    private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
