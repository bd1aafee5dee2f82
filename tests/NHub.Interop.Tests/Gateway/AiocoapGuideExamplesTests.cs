using System.Net.Http.Json;
using System.Text.Json;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// The CoAP client guide's aiocoap-client examples (../shared/spec/coap-client-guide.md, "Sending Telemetry" and
/// "Testing with CLI Tools"), copied literally with only host and port replaced, run by bash against a fresh embedded
/// platform. aiocoap-client is python3-aiocoap 0.4.14 (Debian trixie, unpacked into .tools/ by
/// scripts/install-deps.sh); <c>python3</c> is the system's, with python3-cbor2.
/// aiocoap-client prints nothing for a successful response without payload, and the response code on stderr
/// otherwise; so "2.01" is checked as: exit code 0, no code printed, and the message is the twin's newest telemetry.
/// </summary>
public sealed class AiocoapGuideExamplesTests(FreshEmbeddedPlatform platform) : IClassFixture<FreshEmbeddedPlatform>
{
    private const string GuideHost = "coap.dev-au-03.nnnco.io:5683";

    // "Example: JSON telemetry"
    private const string JsonTelemetryExample = """
        echo '{"temperature": 23.5, "humidity": 45.2}' | \
        aiocoap-client coap://coap.dev-au-03.nnnco.io:5683/telemetry?id=test-001 \
        -m POST --content-format application/json
        """;

    // "Example: CBOR telemetry"
    private const string CborTelemetryExample = """
        # Using python-cbor2 to encode, then aiocoap-client to send
        python3 -c "import cbor2,sys; sys.stdout.buffer.write(cbor2.dumps({'temperature':23.5}))" | \
        aiocoap-client coap://coap.dev-au-03.nnnco.io:5683/telemetry?id=test-001 \
        -m POST --content-format application/cbor --payload -
        """;

    // "Testing with CLI Tools", "aiocoap-client (Python)"
    private const string PlainCoapTestExample = """
        # Plain CoAP test
        aiocoap-client coap://coap.dev-au-03.nnnco.io:5683/telemetry?id=test-001 \
        -m POST --content-format application/json \
        --payload '{"temperature": 23.5}'
        """;

    [Fact]
    public async Task The_plain_coap_test_example_is_2_01_and_its_payload_is_the_twins_newest_telemetry()
    {
        var r = await RunAsync(PlainCoapTestExample);
        AssertSuccess(r);
        var newest = await NewestTelemetryAsync("test-001");
        Assert.Equal("application/json", newest.GetProperty("content_type").GetString());
        Assert.Equal(23.5, newest.GetProperty("payload").GetProperty("temperature").GetDouble());
    }

    /// <summary>
    /// aiocoap 0.4.14 sends a payload only from <c>--payload</c> (<c>--payload @-</c> reads standard input): the
    /// example's piped JSON is never read, the POST goes out empty, and the platform answers 4.00 "empty payload"
    /// (docs/device-guide.md), not the guide's 2.01. The form that sends the pipe is 2.01.
    /// </summary>
    [Fact]
    public async Task The_json_pipe_example_sends_no_payload_with_aiocoap_0_4_14_so_it_is_4_00_and_with_payload_at_dash_it_is_2_01()
    {
        var verbatim = await RunAsync(JsonTelemetryExample);
        Assert.Contains("4.00 Bad Request", verbatim.Errors, StringComparison.Ordinal);
        Assert.Contains("empty payload", verbatim.Errors, StringComparison.Ordinal);

        var corrected = await RunAsync(JsonTelemetryExample.Replace("--content-format application/json", "--content-format application/json --payload @-", StringComparison.Ordinal));
        AssertSuccess(corrected);
        var newest = await NewestTelemetryAsync("test-001");
        Assert.Equal(45.2, newest.GetProperty("payload").GetProperty("humidity").GetDouble());
    }

    /// <summary>
    /// With <c>--payload -</c> aiocoap 0.4.14 takes "-" as CBOR diagnostic notation to recode (it needs the cbor_diag
    /// module, which Debian does not package, and "-" would not parse anyway): the client stops before sending. The
    /// form that sends the pipe's bytes, <c>--payload @-</c>, is 2.01 and the CBOR arrives decoded.
    /// </summary>
    [Fact]
    public async Task The_cbor_example_is_refused_by_aiocoap_0_4_14_itself_and_with_payload_at_dash_it_is_2_01()
    {
        var before = await TelemetryCountAsync("cbor-guide");
        var verbatim = await RunAsync(CborTelemetryExample.Replace("id=test-001", "id=cbor-guide", StringComparison.Ordinal));
        Assert.NotEqual(0, verbatim.ExitCode);
        Assert.Contains("aiocoap-client: error:", verbatim.Errors, StringComparison.Ordinal);
        Assert.Equal(before, await TelemetryCountAsync("cbor-guide"));

        var corrected = await RunAsync(CborTelemetryExample.Replace("--payload -", "--payload @-", StringComparison.Ordinal));
        AssertSuccess(corrected);
        var newest = await NewestTelemetryAsync("test-001");
        Assert.Equal("application/cbor", newest.GetProperty("content_type").GetString());
        Assert.Equal(23.5, newest.GetProperty("payload").GetProperty("temperature").GetDouble());
    }

    private async Task<(int ExitCode, string Output, string Errors)> RunAsync(string example)
    {
        Assert.Contains(GuideHost, example, StringComparison.Ordinal);
        var script = example.Replace(GuideHost, $"127.0.0.1:{platform.Silo.CoapPort}", StringComparison.Ordinal);
        // .tools/bin first (aiocoap-client), then the system's python3 (with python3-cbor2), not a user's pyenv.
        var environment = new Dictionary<string, string?> { ["PATH"] = $"{Path.Combine(RepoPaths.Root, ".tools", "bin")}:/usr/bin:/bin" };
        return await ExternalProcess.RunCapturedAsync("/bin/bash", ["-c", script], TimeSpan.FromSeconds(60), environment);
    }

    private static void AssertSuccess((int ExitCode, string Output, string Errors) r)
    {
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}: {r.Output}{r.Errors}");
        Assert.DoesNotMatch(@"\b[45]\.\d\d\b", r.Errors);
    }

    private async Task<JsonElement> NewestTelemetryAsync(string deviceId)
    {
        using var http = platform.Api();
        var list = await http.GetFromJsonAsync<JsonElement>($"devices/{deviceId}/telemetry?limit=1");
        return list.GetProperty("items")[0];
    }

    private async Task<int> TelemetryCountAsync(string deviceId)
    {
        using var http = platform.Api();
        var response = await http.GetAsync($"devices/{deviceId}/telemetry?limit=100");
        return response.StatusCode == System.Net.HttpStatusCode.NotFound
            ? 0
            : (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").GetArrayLength();
    }
}
