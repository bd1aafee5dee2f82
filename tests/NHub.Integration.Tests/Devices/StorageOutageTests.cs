using System.Net;
using System.Net.Sockets;
using NHub.Coap;
using NHub.Testing;

namespace NHub.Integration.Tests.Devices;

/// <summary>
/// PostgreSQL goes away under a production silo with a standalone gateway (a separate process, so grain failures
/// cross the wire). Grain calls then fail with the driver's exception; it must reach the gateway and the API at once
/// (5.03 with Max-Age, 503 problem), not be lost in serialization and turn into a 30-second wait for Orleans'
/// response timeout followed by a 5.00.
/// </summary>
public sealed class StorageOutageTests : IAsyncLifetime
{
    private readonly PlatformServersFixture _servers = new();
    private ProductionSilo _platform = null!;
    private GatewayProcess _gateway = null!;

    public async Task InitializeAsync()
    {
        await _servers.InitializeAsync();
        _platform = await ProductionSilo.StartAsync(_servers, new Dictionary<string, string?>
        {
            ["Gateway:PlainMode"] = "Enabled",
            ["ManagementApi:ApiKeys:0"] = ClusterSettings.TestApiKey,
        });
        var gateway = ClusterSettings.AsEnvironment(_platform.Settings);
        gateway["Gateway__PlainMode"] = "Enabled";
        _gateway = new GatewayProcess("gateway", gateway);
        await _gateway.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
        if (_platform is not null)
        {
            await _platform.DisposeAsync();
        }
        await _servers.DisposeAsync();
    }

    [Fact]
    public async Task With_postgresql_stopped_a_device_gets_5_03_with_max_age_and_the_api_503_without_waiting_for_the_response_timeout()
    {
        await _servers.Postgres.StopServerAsync();

        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var telemetry = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = 0x5101, Token = new byte[] { 5, 3 } };
        telemetry.SetUriPath("/telemetry");
        telemetry.AddOption(new CoapOption(CoapOptionNumber.UriQuery, "id=outage-device"u8.ToArray()));
        telemetry.ContentFormat = ContentFormats.Json;
        telemetry.Payload = "{\"t\":1}"u8.ToArray();
        // A device whose twin is not active: its activation must read the twin from PostgreSQL, and fails.
        await ExpectUnavailable(udp, telemetry);
        var firmware = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Get, MessageId = 0x5102, Token = new byte[] { 5, 4 } };
        firmware.SetUriPath("/firmware/1.0.0");
        // A grain that queries PostgreSQL itself (the firmware catalog): the driver's own exception comes back.
        await ExpectUnavailable(udp, firmware);

        using var http = new HttpClient { BaseAddress = _platform.Silo.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ClusterSettings.TestApiKey);
        foreach (var path in new[] { "/api/v4/manage/devices/outage-other", "/api/v4/manage/firmware/1.0.0" })
        {
            var api = await http.GetAsync(path);
            Assert.True(api.StatusCode == HttpStatusCode.ServiceUnavailable, $"{path}: {(int)api.StatusCode} {await api.Content.ReadAsStringAsync()}");
            Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(api.Headers.RetryAfter);
        }

        Assert.DoesNotContain("CodecNotFoundException", _platform.Silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("CodecNotFoundException", _gateway.Output, StringComparison.Ordinal);
    }

    private async Task ExpectUnavailable(UdpClient udp, CoapMessage request)
    {
        await udp.SendAsync(CoapSerializer.ToArray(request), new IPEndPoint(IPAddress.Loopback, _gateway.CoapPort));
        // Well under Orleans' 30 s response timeout: a failure lost in serialization never answers within it.
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = await udp.ReceiveAsync(wait.Token);
        var response = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(received.Buffer, response));
        Assert.True(response.Code == CoapCode.ServiceUnavailable,
            $"{request.GetUriPath()}: expected 5.03, got {response.Code}: {System.Text.Encoding.UTF8.GetString(response.Payload.Span)}\ngateway log:\n{_gateway.Output}");
        Assert.Equal(10u, response.MaxAge);
    }
}
