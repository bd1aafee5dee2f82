namespace NHub.ManagementApi.Http;

/// <summary>A request body the API reads itself (<see cref="JsonBody{T}"/>), seen by <see cref="JsonBodyFilter"/> without its type.</summary>
public interface IJsonBody
{
    /// <summary>Why the body could not be read (415, 413 or 400); null when it was read.</summary>
    ProblemHttpResult? Problem { get; }
}
