using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using NHub.Coap;
using NHub.Grains;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// CoAP over TCP, TLS and WebSockets (RFC 8323) on a production platform, driven by clients nobody here wrote:
/// libcoap 4.3.1 (<c>coap+tcp://</c>, and <c>coaps+tcp://</c> with a PSK on OpenSSL and GnuTLS, or a certificate) and
/// aiocoap 0.4.14 (<c>coap+tcp://</c>, <c>coap+ws://</c>, <c>coaps+ws://</c>). Every transport: telemetry 2.01 into JetStream, an Observe
/// command delivered, a firmware Block2 download byte-identical; on the authenticated one also 4.03 across devices
/// and revocation (live connection closed, next handshake refused).
/// </summary>
public sealed class ReliableTransportFlowTests(ReliableTransportsPlatform transports) : IClassFixture<ReliableTransportsPlatform>
{
    private ProductionPlatform Platform => transports.Platform;

    public static TheoryData<string> Clients => ["coap-client-openssl", "coap-client-gnutls"];

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_psk_device_posts_telemetry_over_tls_and_naming_another_device_is_4_03(string client)
    {
        var id = "tls-tel-" + client[^3..];
        var (_, credential) = await Platform.ProvisionWithCredentialAsync(id);
        var r = await LibCoap.RunAsync(client, ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"kwh\":7}",
            "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"{transports.TlsBase}/telemetry"]);
        Assert.True(r.LastCode == "2.01", r.Output + "\nsilo log:\n" + Platform.Silo.Output);
        var stored = Assert.Single(await Platform.ReadTelemetryAsync(id));
        Assert.Equal("{\"kwh\":7}", Encoding.UTF8.GetString(stored.Data!));

        var other = await LibCoap.RunAsync(client, ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"kwh\":8}",
            "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"{transports.TlsBase}/telemetry?id=tls-someone-else"]);
        Assert.Equal("4.03", other.LastCode);

        // A wrong key: the handshake fails (bad_record_mac), nothing is answered, and the gateway says why.
        var wrong = await LibCoap.RunAsync(client, ["-B", "5", "-m", "post", "-e", "x", "-u", credential.Summary.PskIdentity, "-k", new string('0', 64),
            $"{transports.TlsBase}/telemetry"]);
        Assert.Null(wrong.LastCode);
        await Platform.Silo.WaitForLineAsync("TLS handshake with .* failed: .*identity " + credential.Summary.PskIdentity, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_psk_device_over_tls_observes_its_commands_and_downloads_firmware_byte_identical_in_blocks()
    {
        const string id = "tls-cmd";
        var (_, credential) = await Platform.ProvisionWithCredentialAsync(id);
        using var api = Platform.Api();
        var first = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "reboot", new { delay = 1 });
        var observing = LibCoap.RunAsync("coap-client-openssl", ["-B", "30", "-s", "15", "-m", "get",
            "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"{transports.TlsBase}/commands/{id}"]);
        await Platform.Events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(first));
        var second = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "set_interval", new { seconds = 60 });
        await Platform.Events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(second));
        Assert.Contains("set_interval", (await observing).Output, StringComparison.Ordinal);

        var (image, version) = await UploadFirmwareAsync(api, "tls");
        var output = Path.Combine(transports.Certificates.Directory, "tls-firmware.bin");
        var download = await LibCoap.RunAsync("coap-client-gnutls", ["-B", "60", "-b", "512", "-m", "get", "-o", output,
            "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"{transports.TlsBase}/firmware/{version}"], timeoutSeconds: 120);
        Assert.Equal("2.05", download.LastCode);
        Assert.Equal(SHA256.HashData(image), SHA256.HashData(await File.ReadAllBytesAsync(output)));
    }

    [Fact]
    public async Task A_factory_certificate_device_posts_over_tls_verifying_the_gateway_certificate()
    {
        const string id = "tls-cert";
        var (certificate, key, device) = await transports.Certificates.DeviceWithCertificateAsync(id);
        using (device)
        {
            string[] trust = ["-R", transports.Certificates.ServerAuthorityPath];
            var r = await LibCoap.RunAsync("coap-client-openssl", ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"x509\":1}",
                "-c", certificate, "-j", key, .. trust, $"{transports.TlsBase}/telemetry"]);
            Assert.True(r.LastCode == "2.01", r.Output + "\nsilo log:\n" + Platform.Silo.Output);
            Assert.Equal("{\"x509\":1}", Encoding.UTF8.GetString(Assert.Single(await Platform.ReadTelemetryAsync(id)).Data!));
            var other = await LibCoap.RunAsync("coap-client-gnutls", ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"x509\":2}",
                "-c", certificate, "-j", key, .. trust, $"{transports.TlsBase}/telemetry?id=tls-cmd"]);
            Assert.Equal("4.03", other.LastCode);
        }
    }

    [Fact]
    public async Task Revoking_a_psk_closes_its_live_tls_connection_and_its_next_handshake_is_refused()
    {
        const string id = "tls-revoke";
        var (device, credential) = await Platform.ProvisionWithCredentialAsync(id);
        var observing = LibCoap.RunAsync("coap-client-openssl", ["-B", "40", "-s", "30", "-m", "get",
            "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"{transports.TlsBase}/commands/{id}"]);
        await Platform.Events.WaitForAsync(id, "online", timeout: TimeSpan.FromSeconds(20));

        using var api = Platform.Api();
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"devices/{id}/credentials/{credential.Summary.Id}")).StatusCode);
        await Platform.Silo.WaitForLineAsync($@"Credential {credential.Summary.PskIdentity} of device {id} revoked: cache entry dropped, 1 live session\(s\) closed",
            TimeSpan.FromSeconds(30));
        // The client's observation was for 30 s: it ends now because the gateway closed its connection.
        var ended = await observing.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Contains("2.05", ended.Output, StringComparison.Ordinal);

        var again = await LibCoap.RunAsync("coap-client-openssl", ["-B", "5", "-m", "post", "-e", "x", "-u", credential.Summary.PskIdentity, "-k", credential.PskKey,
            $"{transports.TlsBase}/telemetry"]);
        Assert.Null(again.LastCode);
        await Platform.Silo.WaitForLineAsync("TLS handshake with .* failed: revoked", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(await device.ListCredentials() ?? [], c => c.Id == credential.Summary.Id && c.Status == CredentialStatus.Active);
    }

    [Fact]
    public async Task Libcoap_over_plain_tcp_posts_telemetry_observes_commands_and_downloads_firmware()
    {
        const string id = "tcp-libcoap";
        await Platform.Grains.GetGrain<IDeviceGrain>(id).Provision(new DeviceRecord(id, "KM-3", "SN-" + id, null, null));
        var r = await LibCoap.RunAsync("coap-client-openssl", ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"tcp\":1}",
            $"{transports.TcpBase}/telemetry?id={id}"]);
        Assert.True(r.LastCode == "2.01", r.Output + "\nsilo log:\n" + Platform.Silo.Output);
        Assert.Equal("{\"tcp\":1}", Encoding.UTF8.GetString(Assert.Single(await Platform.ReadTelemetryAsync(id)).Data!));

        using var api = Platform.Api();
        var observing = LibCoap.RunAsync("coap-client-notls", ["-B", "30", "-s", "15", "-m", "get", $"{transports.TcpBase}/commands/{id}"]);
        await Platform.Events.WaitForAsync(id, "online", timeout: TimeSpan.FromSeconds(20));
        var command = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "open_valve", new { percent = 40 });
        await Platform.Events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(command));
        Assert.Contains("open_valve", (await observing).Output, StringComparison.Ordinal);

        var (image, version) = await UploadFirmwareAsync(api, "tcp");
        var output = Path.Combine(transports.Certificates.Directory, "tcp-firmware.bin");
        var download = await LibCoap.RunAsync("coap-client-notls", ["-B", "60", "-b", "1024", "-m", "get", "-o", output, $"{transports.TcpBase}/firmware/{version}"],
            timeoutSeconds: 120);
        Assert.Equal("2.05", download.LastCode);
        Assert.Equal(SHA256.HashData(image), SHA256.HashData(await File.ReadAllBytesAsync(output)));
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("ws")]
    public async Task Aiocoap_posts_telemetry_observes_commands_and_downloads_firmware(string transport)
    {
        var id = "aiocoap-" + transport;
        var baseUri = transport == "tcp" ? transports.TcpBase : transports.WsBase;
        await Platform.Grains.GetGrain<IDeviceGrain>(id).Provision(new DeviceRecord(id, "KM-3", "SN-" + id, null, null));
        var (code, output) = await ExternalProcess.RunAsync(RepoPaths.Tool("aiocoap-client"),
            ["-m", "POST", "--content-format", "application/json", "--payload", "{\"aiocoap\": 1}", $"{baseUri}/telemetry?id={id}"], TimeSpan.FromSeconds(30));
        Assert.True(code == 0 && !output.Contains("4.", StringComparison.Ordinal), output + "\nsilo log:\n" + Platform.Silo.Output);
        Assert.Contains("aiocoap", Encoding.UTF8.GetString(Assert.Single(await Platform.ReadTelemetryAsync(id)).Data!), StringComparison.Ordinal);

        using var api = Platform.Api();
        // aiocoap's library observes (aiocoap-client 0.4.14's --observe does not print notifications: aiocoap-observe.py).
        var aiocoapPath = Path.Combine(RepoPaths.Root, ".tools", "aiocoap-pkg", "usr", "lib", "python3", "dist-packages");
        await using (var observing = ExternalProcess.Start("aiocoap-observe-" + transport, "/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "Gateway", "aiocoap-observe.py"), $"{baseUri}/commands/{id}"],
            new Dictionary<string, string?> { ["PYTHONPATH"] = aiocoapPath, ["PYTHONUNBUFFERED"] = "1" }))
        {
            // The first command reaches the device in the registration's response or in a notification (whichever
            // comes first); the second, posted once the first was delivered, only in a notification.
            var first = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "open_valve", new { percent = 10 });
            await Platform.Events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(first));
            var command = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "close_valve", new { after = 5 });
            await Platform.Events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(command));
            await observing.WaitForLineAsync("^notification 2.05 .*close_valve", TimeSpan.FromSeconds(20));
        }

        var (image, version) = await UploadFirmwareAsync(api, "aio-" + transport);
        var file = Path.Combine(transports.Certificates.Directory, $"aiocoap-{transport}.bin");
        // Shell redirection: the image is binary, aiocoap-client writes the payload to standard output as it is.
        var (downloaded, log) = await ExternalProcess.RunAsync("/bin/sh", ["-c", $"'{RepoPaths.Tool("aiocoap-client")}' '{baseUri}/firmware/{version}' > '{file}'"],
            TimeSpan.FromSeconds(120));
        Assert.True(downloaded == 0, log);
        Assert.Equal(SHA256.HashData(image), SHA256.HashData(await File.ReadAllBytesAsync(file)));
    }

    /// <summary>
    /// coap+ws with a device credential (HTTP Basic: PSK identity and key): the connection is that device, exactly as a
    /// DTLS session. aiocoap cannot send the header, so this is .NET's WebSocket client with this repository's framing.
    /// </summary>
    [Fact]
    public async Task A_websocket_authenticated_with_a_psk_is_that_device_and_refusals_are_http_errors()
    {
        const string id = "ws-psk";
        var (_, credential) = await Platform.ProvisionWithCredentialAsync(id);
        var uri = new Uri($"ws://127.0.0.1:{Platform.Silo.HttpPort}/.well-known/coap");
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Summary.PskIdentity}:{credential.PskKey}"));

        await using (var device = await CoapWebSocketClient.ConnectAsync(uri, basic))
        {
            Assert.Equal(CoapSignalCode.Csm, device.ServerCsm.Code);
            var created = await device.RequestAsync(TelemetryDatagram.Post(0, [1], "{\"ws\":1}"));
            Assert.Equal(CoapCode.Created, created!.Code);
            Assert.Equal("{\"ws\":1}", Encoding.UTF8.GetString(Assert.Single(await Platform.ReadTelemetryAsync(id)).Data!));
            var other = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, Token = new byte[] { 2 }, Payload = "{}"u8.ToArray() }
                .SetUriPath("/telemetry").AddQuery("id=tls-cmd");
            other.ContentFormat = ContentFormats.Json;
            Assert.Equal(CoapCode.Forbidden, (await device.RequestAsync(CoapSerializer.ToArray(other)))!.Code);

            // Revocation closes the live connection (the gateway's Abort, then the WebSocket close).
            using var api = Platform.Api();
            Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"devices/{id}/credentials/{credential.Summary.Id}")).StatusCode);
            var abort = await device.ReceiveDatagramAsync(TimeSpan.FromSeconds(30));
            Assert.NotNull(abort);
            Assert.Equal(CoapParseError.None, CoapSignaling.TryParse(abort, out var signal));
            Assert.Equal(CoapSignalCode.Abort, signal.Code);
            Assert.Null(await device.ReceiveDatagramAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await CoapWebSocketClient.RefusedStatusAsync(uri, basic)); // revoked now
        var (_, fresh) = await Platform.ProvisionWithCredentialAsync("ws-psk-2");
        var wrongKey = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{fresh.Summary.PskIdentity}:{new string('0', 64)}"));
        Assert.Equal(HttpStatusCode.Unauthorized, await CoapWebSocketClient.RefusedStatusAsync(uri, wrongKey));
        Assert.Equal(HttpStatusCode.BadRequest, await CoapWebSocketClient.RefusedStatusAsync(uri, authorization: null, offerCoapSubprotocol: false));
    }

    /// <summary>
    /// coaps+ws: the silo's HTTPS port (the gateway's certificate). A device credential makes the connection that device
    /// (its telemetry is marked coaps); aiocoap over the same TLS without one is plain CoAP (marked coap), allowed here
    /// because this platform serves plain CoAP.
    /// </summary>
    [Fact]
    public async Task Coaps_ws_carries_a_device_credential_over_https_and_without_one_it_is_plain_coap()
    {
        const string id = "wss-psk";
        var (_, credential) = await Platform.ProvisionWithCredentialAsync(id);
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Summary.PskIdentity}:{credential.PskKey}"));
        await using (var device = await CoapWebSocketClient.ConnectAsync(new Uri($"wss://127.0.0.1:{transports.HttpsPort}/.well-known/coap"), basic,
            trustedRoot: transports.Certificates.ServerAuthority.Certificate))
        {
            Assert.Equal(CoapCode.Created, (await device.RequestAsync(TelemetryDatagram.Post(0, [1], "{\"wss\":1}")))!.Code);
        }
        var stored = Assert.Single(await Platform.ReadTelemetryAsync(id));
        Assert.Equal("coaps", stored.Headers!["NHub-Transport"].ToString());

        const string plain = "wss-plain";
        await Platform.Grains.GetGrain<IDeviceGrain>(plain).Provision(new DeviceRecord(plain, "KM-3", "SN-" + plain, null, null));
        var (code, output) = await ExternalProcess.RunAsync(RepoPaths.Tool("aiocoap-client"),
            ["-m", "POST", "--content-format", "application/json", "--payload", "{\"wss\": 2}", $"{transports.WssBase}/telemetry?id={plain}"], TimeSpan.FromSeconds(30),
            new Dictionary<string, string?> { ["SSL_CERT_FILE"] = transports.Certificates.ServerAuthorityPath });
        Assert.True(code == 0, output + "\nsilo log:\n" + Platform.Silo.Output);
        var plainStored = Assert.Single(await Platform.ReadTelemetryAsync(plain));
        Assert.Equal("coap", plainStored.Headers!["NHub-Transport"].ToString());
    }

    private static async Task<(byte[] Image, string Version)> UploadFirmwareAsync(HttpClient api, string name)
    {
        var image = RandomNumberGenerator.GetBytes(48 * 1024 + 123);
        var version = $"8.0.0-{name}";
        using var body = new ByteArrayContent(image);
        body.Headers.ContentType = new("application/octet-stream");
        Assert.Equal(HttpStatusCode.Created, (await api.PutAsync($"firmware/{version}", body)).StatusCode);
        return (image, version);
    }
}
