using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NHub.Integration.Tests.ManagementApi;

/// <summary>Requests and assertions shared by the API tests: JSON in, status and RFC 9457 problems out.</summary>
internal static class ApiAssert
{
    public const string Prefix = "/api/v4/manage";

    public static Uri Url(string path) => new(Prefix + path, UriKind.Relative);

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent Json(object value) => Json(JsonSerializer.Serialize(value));

    /// <summary>Asserts the status and returns the JSON body (object or array).</summary>
    public static async Task<JsonNode> Expect(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!;
    }

    /// <summary>Asserts an RFC 9457 problem with this status (content type, type, title, status member) and returns it.</summary>
    public static async Task<JsonObject> Problem(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!.AsObject();
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["title"]?.GetValue<string>()), body);
        Assert.False(string.IsNullOrEmpty(problem["type"]?.GetValue<string>()), body);
        return problem;
    }

    /// <summary>A 400 problem whose <c>errors</c> has an entry for each of <paramref name="fields"/>.</summary>
    public static async Task<JsonObject> FieldErrors(HttpResponseMessage response, params string[] fields)
    {
        var problem = await Problem(response, HttpStatusCode.BadRequest);
        var errors = problem["errors"]?.AsObject();
        Assert.True(errors is not null, $"no 'errors' in {problem.ToJsonString()}");
        foreach (var field in fields)
        {
            Assert.True(errors.ContainsKey(field), $"no error for '{field}' in {problem.ToJsonString()}");
        }
        return problem;
    }

    public static Task<HttpResponseMessage> Patch(this HttpClient http, string path, string json) =>
        http.PatchAsync(Url(path), Json(json));

    public static Task<HttpResponseMessage> Post(this HttpClient http, string path, string json) =>
        http.PostAsync(Url(path), Json(json));

    public static Task<HttpResponseMessage> Post(this HttpClient http, string path, HttpContent body) =>
        http.PostAsync(Url(path), body);

    public static Task<HttpResponseMessage> Get(this HttpClient http, string path) => http.GetAsync(Url(path));

    public static Task<HttpResponseMessage> Delete(this HttpClient http, string path) => http.DeleteAsync(Url(path));

    /// <summary>Creates a device through the API and returns its id.</summary>
    public static async Task<string> CreateDevice(this HttpClient http, string deviceId, string model = "KM-3")
    {
        var response = await http.PostAsJsonAsync(Url("/devices/"), new Dictionary<string, object?>
        {
            ["device_id"] = deviceId,
            ["model"] = model,
            ["serial"] = "SN-" + deviceId,
            ["imei"] = "35" + deviceId,
        });
        await Expect(response, HttpStatusCode.Created);
        return deviceId;
    }

    /// <summary>A fresh device id, unique in this run (tests share one silo).</summary>
    public static string NewDeviceId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];
}
