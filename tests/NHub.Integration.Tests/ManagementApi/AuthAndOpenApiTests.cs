using System.Net;
using System.Text.Json.Nodes;
using static NHub.Integration.Tests.ManagementApi.ApiAssert;

namespace NHub.Integration.Tests.ManagementApi;

[Collection(ManagementApiCollection.Name)]
public sealed class AuthAndOpenApiTests(ManagementApiFixture api)
{
    /// <summary>Every route of the API (each with and without the trailing slash in the test below).</summary>
    public static TheoryData<string, string> Routes => new()
    {
        { "POST", "/devices" },
        { "GET", "/devices" },
        { "GET", "/devices/d1" },
        { "PATCH", "/devices/d1" },
        { "DELETE", "/devices/d1" },
        { "POST", "/devices/d1/credentials" },
        { "GET", "/devices/d1/credentials" },
        { "GET", "/devices/d1/credentials/3f2504e0-4f89-11d3-9a0c-0305e82c3301" },
        { "DELETE", "/devices/d1/credentials/3f2504e0-4f89-11d3-9a0c-0305e82c3301" },
        { "POST", "/certificate-authorities" },
        { "GET", "/certificate-authorities" },
        { "GET", "/certificate-authorities/3f2504e0-4f89-11d3-9a0c-0305e82c3301" },
        { "DELETE", "/certificate-authorities/3f2504e0-4f89-11d3-9a0c-0305e82c3301" },
        { "POST", "/devices/d1/commands" },
        { "GET", "/devices/d1/commands" },
        { "GET", "/devices/d1/commands/3f2504e0-4f89-11d3-9a0c-0305e82c3301" },
        { "DELETE", "/devices/d1/commands/3f2504e0-4f89-11d3-9a0c-0305e82c3301" },
        { "GET", "/devices/d1/firmware" },
        { "GET", "/devices/d1/telemetry" },
        { "PUT", "/firmware/1.0.0" },
        { "GET", "/firmware" },
        { "GET", "/firmware/1.0.0" },
        { "DELETE", "/firmware/1.0.0" },
        { "GET", "/fleet/summary" },
        { "GET", "/fleet/devices" },
        { "GET", "/fleet/recent" },
        { "GET", "/fleet/firmware" },
        { "GET", "/fleet/gateways" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Every_route_refuses_a_missing_or_wrong_key_with_a_401_problem_and_a_bearer_challenge(string method, string path)
    {
        var wrongKeys = new string?[] { null, "wrong-key-0123456789abcdef", ManagementApiFixture.ApiKey + "x", ManagementApiFixture.ApiKey[..^1] };
        foreach (var key in wrongKeys)
        {
            foreach (var spelling in new[] { path, path + "/" })
            {
                using var http = api.Http(key);
                using var request = new HttpRequestMessage(new HttpMethod(method), Url(spelling));
                if (method is "POST" or "PATCH")
                {
                    request.Content = Json("{not even json"); // auth is checked before the body is read
                }
                else if (method is "PUT")
                {
                    request.Content = new ByteArrayContent([1, 2, 3]);
                    request.Content.Headers.ContentType = new("application/octet-stream");
                }
                var response = await http.SendAsync(request);
                var problem = await Problem(response, HttpStatusCode.Unauthorized);
                var challenge = Assert.Single(response.Headers.WwwAuthenticate);
                Assert.Equal("Bearer", challenge.Scheme);
                Assert.DoesNotContain(ManagementApiFixture.ApiKey, problem.ToJsonString(), StringComparison.Ordinal);
            }
        }
        // A non-bearer scheme carrying the right secret is no better.
        using var basic = api.Http(null);
        basic.DefaultRequestHeaders.Authorization = new("Basic", ManagementApiFixture.ApiKey);
        await Problem(await basic.SendAsync(new HttpRequestMessage(new HttpMethod(method), Url(path))), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Health_metrics_dashboard_openapi_and_the_reference_page_need_no_key()
    {
        using var http = api.Http(null);
        foreach (var path in new[] { "/health/live", "/metrics", "/dashboard/", "/openapi/v1.json", "/scalar/" })
        {
            var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task The_openapi_document_names_summarises_and_tags_every_operation_and_declares_the_bearer_scheme()
    {
        using var http = api.Http(null);
        var document = JsonNode.Parse(await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        var operations = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key.ToUpperInvariant(), Operation: o.Value!)))
            .ToList();
        Assert.Equal(Routes.Count, operations.Count);
        foreach (var (path, method, operation) in operations)
        {
            Assert.StartsWith("/api/v4/manage/", path, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(operation["operationId"]?.GetValue<string>()), $"{method} {path} has no name");
            Assert.False(string.IsNullOrEmpty(operation["summary"]?.GetValue<string>()), $"{method} {path} has no summary");
            Assert.NotEmpty(operation["tags"]!.AsArray());
            Assert.True(operation["responses"]!.AsObject().ContainsKey("401"), $"{method} {path} does not document 401");
        }
        Assert.Equal(operations.Count, operations.Select(o => o.Operation["operationId"]!.GetValue<string>()).Distinct().Count());
        Assert.Equal("bearer", document["components"]!["securitySchemes"]!["api_key"]!["scheme"]!.GetValue<string>());

        // snake_case in the schemas too.
        var issued = document["components"]!["schemas"]!["IssuedCredentialResponse"]!["properties"]!.AsObject();
        Assert.Equal(new[] { "auth_type", "id", "psk_identity", "psk_key", "server", "status" }, issued.Select(p => p.Key).Order(StringComparer.Ordinal));
    }
}
