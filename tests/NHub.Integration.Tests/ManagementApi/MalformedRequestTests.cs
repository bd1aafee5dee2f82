using System.Net;
using System.Text;

namespace NHub.Integration.Tests.ManagementApi;

/// <summary>
/// 2,000 malformed requests against every route of the management API (seeded, so a failure reproduces): impossible
/// ids and versions, control characters and NULs, broken and hostile JSON, wrong types, huge numbers, wrong content
/// types and methods. Every one must be answered by a 4xx (problem+json where there is a body), never a 5xx.
/// </summary>
[Collection(ManagementApiCollection.Name)]
public sealed class MalformedRequestTests(ManagementApiFixture api)
{
    private static readonly string[] Segments =
    [
        "%00", "a%00b", "%0A", "..", ".", "%2e%2e", "%2F", "x%20y", "%FF%FE", "%C0%AF", "\u00e9t\u00e9", new string('a', 65), new string('9', 300),
        "-", "_", "null", "{}", "%7B%22a%22%3A1%7D", "00000000-0000-0000-0000-000000000000", "not-a-guid", "1e309", "%25", "%u0000",
    ];

    private static readonly string[] Bodies =
    [
        "", "{", "}", "[]", "null", "0", "\"str\"", "{\"device_id\":null}", "{\"device_id\":123}", "{\"device_id\":\"a\u0000b\"}",
        "{\"device_id\":\"ok-1\",\"model\":{}}", "{\"device_id\":\"ok-1\",\"sim\":[]}", "{\"auth_type\":\"psk\",\"format\":\"hex\"}",
        "{\"auth_type\":42}", "{\"name\":\"\",\"params\":1}", "{\"name\":\"reboot\",\"ttl_seconds\":1e309}", "{\"name\":\"reboot\",\"ttl_seconds\":-1}",
        "{\"name\":\"reboot\",\"ttl_seconds\":99999999999999999999}", "{\"a\":" + new string('[', 5000) + "}", "\u00ff\u00fe\u0000\u0001",
        "{\"device_id\":\"" + new string('x', 100_000) + "\"}", "{\"name\":\"r\",\"params\":{\"x\":\"\\ud800\"}}", "{\"limit\":NaN}",
    ];

    private static readonly string[] ContentTypes = ["application/json", "text/plain", "application/cbor", "application/json; charset=latin1", "multipart/form-data; boundary=x", ""];

    [Fact]
    public async Task Two_thousand_malformed_requests_get_no_5xx()
    {
        using var http = api.Http();
        var random = new Random(18);
        var failures = new List<string>();
        var codes = new Dictionary<int, int>();
        for (var i = 0; i < 2000; i++)
        {
            var (method, path) = Route(random);
            using var request = new HttpRequestMessage(method, "/api/v4/manage" + path);
            if (method != HttpMethod.Get && method != HttpMethod.Delete || random.Next(4) == 0)
            {
                var body = random.Next(3) == 0 ? RandomBytes(random) : Encoding.UTF8.GetBytes(Bodies[random.Next(Bodies.Length)]);
                request.Content = new ByteArrayContent(body);
                var type = ContentTypes[random.Next(ContentTypes.Length)];
                if (type.Length > 0)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
                }
            }
            using var response = await http.SendAsync(request);
            codes[(int)response.StatusCode] = codes.GetValueOrDefault((int)response.StatusCode) + 1;
            if ((int)response.StatusCode >= 500)
            {
                failures.Add($"{method} {path} -> {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} requests got 5xx:\n" + string.Join("\n", failures.Take(20)));
        // The requests reached the handlers' validation (not only routing or authentication): field errors, unknown
        // devices, unsupported media types and methods all occur.
        var seen = string.Join(", ", codes.OrderBy(c => c.Key).Select(c => $"{c.Key}x{c.Value}"));
        foreach (var expected in new[] { 400, 404, 405, 415 })
        {
            Assert.True(codes.ContainsKey(expected), $"no {expected} among the answers: {seen}");
        }
        Assert.DoesNotContain(401, codes.Keys);
    }

    private static (HttpMethod, string) Route(Random random)
    {
        string S() => Segments[random.Next(Segments.Length)];
        string Q() => random.Next(2) == 0 ? "" : "?" + new[] { "offset", "limit", "online", "search", "x" }[random.Next(5)] + "=" + S();
        return random.Next(14) switch
        {
            0 => (HttpMethod.Post, "/devices/" + Q()),
            1 => (HttpMethod.Get, "/devices/" + Q()),
            2 => (HttpMethod.Get, "/devices/" + S()),
            3 => (HttpMethod.Patch, "/devices/" + S()),
            4 => (HttpMethod.Delete, "/devices/" + S()),
            5 => (HttpMethod.Post, $"/devices/{S()}/credentials/"),
            6 => (HttpMethod.Delete, $"/devices/{S()}/credentials/{S()}"),
            7 => (HttpMethod.Post, $"/devices/{S()}/commands/"),
            8 => (HttpMethod.Get, $"/devices/{S()}/commands/{S()}"),
            9 => (HttpMethod.Put, "/firmware/" + S()),
            10 => (HttpMethod.Get, "/firmware/" + S()),
            11 => (HttpMethod.Get, $"/devices/{S()}/telemetry" + Q()),
            12 => (HttpMethod.Get, $"/devices/{S()}/firmware"),
            _ => (new HttpMethod(new[] { "PUT", "PATCH", "OPTIONS", "TRACE", "PROPFIND" }[random.Next(5)]), "/devices/" + S()),
        };
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 2048)];
        random.NextBytes(bytes);
        return bytes;
    }
}
