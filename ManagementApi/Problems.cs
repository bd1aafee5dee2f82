using Microsoft.AspNetCore.WebUtilities;

namespace NHub.ManagementApi;

/// <summary>
/// RFC 9457 problem details for every error the API returns. <c>type</c> points at the HTTP semantics section
/// (RFC 9110 §15) of the status, <c>title</c> is its reason phrase, <c>detail</c> says what to fix; validation
/// problems add <c>errors</c>, keyed by the snake_case request field.
/// </summary>
public static class Problems
{
    public static ProblemDetails Create(int status, string? detail) => new()
    {
        Status = status,
        Title = ReasonPhrases.GetReasonPhrase(status),
        Type = TypeFor(status),
        Detail = detail,
    };

    public static ProblemHttpResult Validation(IDictionary<string, string[]> errors, string? detail = null) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "One or more fields are invalid.",
            Type = TypeFor(StatusCodes.Status400BadRequest),
            Detail = detail ?? "See 'errors' for the fields to fix.",
        });

    public static ProblemHttpResult Field(string field, string message) => Validation(new Dictionary<string, string[]> { [field] = [message] });

    public static ProblemHttpResult BadRequest(string detail) => TypedResults.Problem(Create(StatusCodes.Status400BadRequest, detail));

    public static ProblemHttpResult NotFound(string detail) => TypedResults.Problem(Create(StatusCodes.Status404NotFound, detail));

    public static ProblemHttpResult DeviceNotFound(string deviceId) => NotFound($"Device '{deviceId}' does not exist.");

    public static ProblemHttpResult Conflict(string detail) => TypedResults.Problem(Create(StatusCodes.Status409Conflict, detail));

    public static ProblemHttpResult TooLarge(string detail) => TypedResults.Problem(Create(StatusCodes.Status413PayloadTooLarge, detail));

    public static ProblemHttpResult UnsupportedMediaType(string detail) => TypedResults.Problem(Create(StatusCodes.Status415UnsupportedMediaType, detail));

    public static ProblemHttpResult Unavailable(string detail) => TypedResults.Problem(Create(StatusCodes.Status503ServiceUnavailable, detail));

    public static string TypeFor(int status) => status switch
    {
        400 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
        401 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2",
        403 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4",
        404 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5",
        405 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6",
        406 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.7",
        409 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10",
        413 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14",
        415 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.16",
        500 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.1",
        503 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
        _ => "about:blank",
    };
}
