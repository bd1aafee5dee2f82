using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using NHub.Grains;
using NHub.ManagementApi.Contracts;
using NHub.ManagementApi.Http;

namespace NHub.ManagementApi.Endpoints;

/// <summary>
/// <c>/devices/{device_id}/commands</c>: downlink commands, delivered as CoAP Observe notifications (docs/commands.md).
/// Posting answers 202: the command is durably queued, not yet delivered.
/// </summary>
public static class CommandsApi
{
    public static RouteGroupBuilder MapCommandsApi(this RouteGroupBuilder api)
    {
        var commands = DeviceItems.MapGroup(api, "commands", "Commands");

        commands.MapPost("", SendCommand)
            .WithName("SendCommand")
            .WithSummary("Queue a command for a device")
            .WithDescription("Durably queues the command and pushes it to the device if it is observing. 202 with the command's id and status " +
                "(queued, or sent when handed to the gateway at once). 409 when the device has too many pending commands.")
            .Accepts<SendCommandRequest>("application/json")
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        commands.MapGet("", ListCommands)
            .WithName("ListCommands")
            .WithSummary("List a device's commands")
            .WithDescription("Newest first, with statuses: queued, sent, delivered, expired, cancelled.");

        commands.MapGet("/{command_id:guid}", GetCommand)
            .WithName("GetCommand")
            .WithSummary("Get one command");

        commands.MapDelete("/{command_id:guid}", CancelCommand)
            .WithName("CancelCommand")
            .WithSummary("Cancel a pending command")
            .WithDescription("Cancels a queued or sent command. 409 when it is no longer pending (delivered, expired or cancelled).")
            .ProducesProblem(StatusCodes.Status409Conflict);

        return api;
    }

    public static async Task<Results<Accepted<CommandResponse>, ProblemHttpResult>> SendCommand(
        [FromRoute(Name = "device_id")] string deviceId, JsonBody<SendCommandRequest> body, [AsParameters] ApiServices services)
    {
        if (body.Problem is { } bad)
        {
            return bad;
        }
        var request = body.Value!;
        var options = services.Options;
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.Name))
        {
            errors.Add("name", "is required");
        }
        else if (!Identifiers.IsValidCommandName(request.Name))
        {
            errors.Add("name", Identifiers.CommandNameRule);
        }
        string? paramsJson = null;
        if (request.Params is not null)
        {
            if (request.Params is not JsonObject)
            {
                errors.Add("params", "must be a JSON object");
            }
            else
            {
                paramsJson = request.Params.ToJsonString();
                if (Encoding.UTF8.GetByteCount(paramsJson) > options.MaxCommandParamsBytes)
                {
                    errors.Add("params", $"must be at most {options.MaxCommandParamsBytes} bytes as compact JSON");
                }
            }
        }
        var ttl = request.TtlSeconds ?? options.DefaultCommandTtlSeconds;
        if (ttl < 1 || ttl > options.MaxCommandTtlSeconds)
        {
            errors.Add("ttl_seconds", $"must be from 1 to {options.MaxCommandTtlSeconds}");
        }
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        CommandInfo? command;
        try
        {
            command = await services.Grains.GetGrain<IDeviceGrain>(deviceId).EnqueueCommand(new CommandRequest(request.Name!, paramsJson, ttl));
        }
        catch (ArgumentException ex)
        {
            // The twin's own limits (e.g. Devices:MaxCommandTtlSeconds set lower than ours).
            return Problems.Field(ex.Message.Contains("ttl", StringComparison.OrdinalIgnoreCase) ? "ttl_seconds" : "name", FirstSentence(ex.Message));
        }
        catch (InvalidOperationException ex)
        {
            return Problems.Conflict(FirstSentence(ex.Message));
        }
        if (command is null)
        {
            return Problems.DeviceNotFound(deviceId);
        }
        ManagementApiLog.CommandQueued(services.Logger, deviceId, command.Id, command.Name);
        return TypedResults.Accepted(Links.Command(deviceId, command.Id), CommandResponse.From(command));
    }

    public static async Task<Results<Ok<CommandListResponse>, ProblemHttpResult>> ListCommands(
        [FromRoute(Name = "device_id")] string deviceId, [AsParameters] ApiServices services) =>
        DeviceItems.List(deviceId, await services.Grains.GetGrain<IDeviceGrain>(deviceId).ListCommands(),
            items => new CommandListResponse([.. items.Select(CommandResponse.From)]));

    public static async Task<Results<Ok<CommandResponse>, ProblemHttpResult>> GetCommand(
        [FromRoute(Name = "device_id")] string deviceId, [FromRoute(Name = "command_id")] Guid commandId, [AsParameters] ApiServices services) =>
        DeviceItems.One(deviceId, await services.Grains.GetGrain<IDeviceGrain>(deviceId).ListCommands(), commandId, c => c.Id, CommandResponse.From, "command");

    public static async Task<Results<NoContent, ProblemHttpResult>> CancelCommand(
        [FromRoute(Name = "device_id")] string deviceId, [FromRoute(Name = "command_id")] Guid commandId, [AsParameters] ApiServices services)
    {
        var outcome = await services.Grains.GetGrain<IDeviceGrain>(deviceId).CancelCommand(commandId);
        switch (outcome)
        {
            case CancelOutcome.Cancelled:
                ManagementApiLog.CommandCancelled(services.Logger, deviceId, commandId);
                return TypedResults.NoContent();
            case CancelOutcome.NotPending:
                return Problems.Conflict($"Command '{commandId}' is no longer pending (delivered, expired or cancelled).");
            default:
                return Problems.NotFound($"Device '{deviceId}' has no command '{commandId}'.");
        }
    }

    /// <summary>Exception messages may carry a "(Parameter 'x')" suffix; the client needs the sentence only.</summary>
    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" (Parameter", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
