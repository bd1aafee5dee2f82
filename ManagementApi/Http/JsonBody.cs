using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace NHub.ManagementApi.Http;

/// <summary>
/// A JSON request body read by the API itself rather than by the framework's binder, so that every way a body can be
/// wrong becomes a precise problem the handler returns: not JSON (415), too large (413), malformed or mistyped
/// (400, with the offending field in <c>errors</c>). The framework would answer some of these with an empty 400.
/// <see cref="JsonBodyFilter"/> answers that problem before the handler runs, so a handler only ever sees a body it can read.
/// </summary>
public sealed class JsonBody<T> : IBindableFromHttpContext<JsonBody<T>>, IJsonBody
    where T : class
{
    private readonly T? _value;

    private JsonBody(T? value, ProblemHttpResult? problem)
    {
        _value = value;
        Problem = problem;
    }

    /// <summary>The body as read; a body with a <see cref="Problem"/> never reaches a handler.</summary>
    public T Value => _value ?? throw new InvalidOperationException($"The JSON body has a problem; {nameof(JsonBodyFilter)} answers it before the handler runs.");

    /// <summary>Why the body could not be read; null when <see cref="Value"/> is set.</summary>
    public ProblemHttpResult? Problem { get; }

#pragma warning disable CA1000 // IBindableFromHttpContext<T> is a static abstract contract; the framework calls it, not users.
    public static async ValueTask<JsonBody<T>?> BindAsync(HttpContext context, ParameterInfo parameter)
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return Fail(Problems.UnsupportedMediaType($"Send the body as application/json (got '{request.ContentType ?? "no Content-Type"}')."));
        }
        var limit = context.RequestServices.GetRequiredService<IOptions<ManagementApiOptions>>().Value.MaxJsonBodyBytes;
        if (request.ContentLength > limit)
        {
            return Fail(Problems.TooLarge($"A JSON body may be at most {limit} bytes."));
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }
        var json = context.RequestServices.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, json, context.RequestAborted);
            return value is null ? Fail(Problems.BadRequest("The request body must be a JSON object.")) : new JsonBody<T>(value, null);
        }
        catch (JsonException ex)
        {
            return Fail(Malformed(ex));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Fail(Problems.TooLarge($"A JSON body may be at most {limit} bytes."));
        }
    }

#pragma warning restore CA1000

    private static JsonBody<T> Fail(ProblemHttpResult problem) => new(null, problem);

    /// <summary>
    /// System.Text.Json reports where it stopped as a JSONPath (<c>$.sim.iccid</c>). A syntax error (the reader's
    /// exception is the inner one) means the body is not JSON at all; otherwise a path below the root names the field
    /// whose value has the wrong type, which is what <c>errors</c> is keyed by.
    /// </summary>
    internal static ProblemHttpResult Malformed(JsonException ex)
    {
        var where = ex.LineNumber is { } line ? $" (line {line + 1}, byte {ex.BytePositionInLine + 1})" : "";
        if (ex.InnerException is JsonException syntax)
        {
            return Problems.BadRequest($"The request body is not valid JSON{where}: {Reason(syntax.Message)}");
        }
        var field = ex.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
        if (field is null)
        {
            return Problems.BadRequest($"The request body must be a JSON object{where}.");
        }
        return Problems.Validation(new Dictionary<string, string[]> { [field] = ["has the wrong JSON type or an invalid value"] },
            $"The request body does not match this endpoint's schema at '{field}'{where}.");
    }

    private static string Reason(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd(' ', '|');
    }
}
