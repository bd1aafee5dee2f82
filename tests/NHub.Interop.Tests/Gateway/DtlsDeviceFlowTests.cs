using System.Formats.Cbor;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// The device flows of the guide over coaps:// on a production platform (PostgreSQL, nats-server JetStream), driven as
/// the portal drives them (the REST API) and as devices run them (libcoap's coap-client-openssl with the issued PSK).
/// </summary>
public sealed class DtlsDeviceFlowTests(ProductionPlatform platform) : IClassFixture<ProductionPlatform>
{
    private const string Client = "coap-client-openssl";

    [Fact]
    public async Task Commands_posted_through_the_api_reach_an_observing_device_in_cbor_and_pending_ones_come_at_registration()
    {
        const string id = "dtls-cmd-cbor";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id);
        using var api = platform.Api();
        var events = platform.Events;

        var first = await PostCommandAsync(api, id, "reboot", new { delay = 1 });
        Assert.Equal("queued", first.GetProperty("status").GetString());

        // Accept: 60 (application/cbor): the registration's 2.05 and every notification are CBOR.
        var observing = LibCoap.RunAsync(Client, ["-B", "30", "-s", "15", "-A", "60", "-m", "get",
            "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"{platform.CoapsBase}/commands/{id}"]);
        await events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == CommandId(first));

        var second = await PostCommandAsync(api, id, "set_interval", new { seconds = 60 });
        Assert.Equal("sent", second.GetProperty("status").GetString()); // the device observes: handed to its gateway at once
        await events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == CommandId(second));

        var r = await observing;
        Assert.Contains("Content-Format:application/cbor", r.Output, StringComparison.Ordinal);
        var payloads = CborPayloads(r.Output);
        Assert.Contains(payloads, p => p.Contains("reboot", StringComparison.Ordinal));
        Assert.Contains(payloads, p => p.Contains("set_interval", StringComparison.Ordinal));

        var listed = await api.GetFromJsonAsync<JsonElement>($"devices/{id}/commands/");
        Assert.All(listed.GetProperty("items").EnumerateArray(), c => Assert.Equal("delivered", c.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_300_kib_firmware_uploaded_through_the_api_downloads_over_dtls_in_512_byte_blocks_byte_identical_and_completes()
    {
        const string id = "dtls-fw";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id);
        using var api = platform.Api();
        var image = RandomNumberGenerator.GetBytes(300 * 1024);
        using var body = new ByteArrayContent(image);
        body.Headers.ContentType = new("application/octet-stream");
        var uploaded = await api.PutAsync("firmware/3.1.0", body);
        Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);

        var output = Path.GetTempFileName();
        try
        {
            var r = await LibCoap.RunAsync(Client, ["-B", "120", "-b", "512", "-m", "get", "-o", output,
                "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"{platform.CoapsBase}/firmware/3.1.0"], timeoutSeconds: 180);
            Assert.Equal("2.05", r.LastCode);
            Assert.Equal(Convert.ToHexString(SHA256.HashData(image)), Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(output))));
        }
        finally
        {
            File.Delete(output);
        }

        // The last block's progress report marks the download complete in the twin (reported when it is served).
        await platform.Events.WaitForAsync(id, "firmware_completed");
        var download = (await api.GetFromJsonAsync<JsonElement>($"devices/{id}/firmware")).GetProperty("download");
        Assert.Equal("3.1.0", download.GetProperty("version").GetString());
        Assert.True(download.GetProperty("completed").GetBoolean());
        Assert.Equal(image.Length, download.GetProperty("total_bytes").GetInt64());
        Assert.Equal(image.Length, download.GetProperty("bytes_served").GetInt64());
    }

    [Fact]
    public async Task A_retransmitted_confirmable_telemetry_message_gets_the_same_answer_and_is_published_once()
    {
        const string id = "dtls-retransmit";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id);
        using var client = NHub.Gateway.Tests.Support.BcDtlsClient.Connect(new IPEndPoint(IPAddress.Loopback, platform.Silo.CoapsPort),
            credential.Summary.PskIdentity, credential.PskKey);

        // RFC 7252 §4.5: a CON whose ACK was lost is sent again with the same Message ID; the server must answer it
        // again without processing it twice (and JetStream must store the telemetry once).
        var datagram = TelemetryDatagram.Post((ushort)Random.Shared.Next(1, 65535), [1, 2, 3, 4], "{\"t\":7}");
        // Sent the way a client retransmits (RFC 7252 §4.2: the same datagram again until an answer comes).
        byte[]? Send()
        {
            for (var attempt = 0; attempt < 4; attempt++)
            {
                if (client.Exchange(datagram, waitMillis: 4_000) is { } answer)
                {
                    return answer;
                }
            }
            return null;
        }
        var first = Send();
        Assert.True(first is not null, "no answer to the request; silo log:\n" + platform.Silo.Output);
        var second = Send();
        Assert.True(second is not null, "no answer to the retransmission; silo log:\n" + platform.Silo.Output);
        Assert.Equal(first, second);
        Assert.Equal(NHub.Coap.CoapCode.Created, TelemetryDatagram.CodeOf(first!));

        Assert.Equal("{\"t\":7}"u8.ToArray(), Assert.Single(await platform.ReadTelemetryAsync(id)).Data);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_new_session_from_the_same_address_and_port_that_repeats_message_id_and_token_is_stored_again(bool closeOldSession)
    {
        // A meter that reboots restarts its message-id counter and token generator and handshakes again from the same
        // address and port (with or without having closed its old session). RFC 7252 §9.1: a message is a duplicate
        // only within the same session and epoch, so the new session's first reading is new data: 2.01 and stored,
        // even when it is the same reading, byte for byte (a meter whose register has not moved).
        var id = closeOldSession ? "dtls-reboot-closed" : "dtls-reboot-abandoned";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id);
        var server = new IPEndPoint(IPAddress.Loopback, platform.Silo.CoapsPort);
        var messageId = (ushort)Random.Shared.Next(1, 65535);
        byte[] token = [0xB0, 0x07];

        IPEndPoint local;
        using (var before = NHub.Gateway.Tests.Support.BcDtlsClient.Connect(server, credential.Summary.PskIdentity, credential.PskKey))
        {
            local = before.LocalEndPoint;
            var answer = before.Exchange(TelemetryDatagram.Post(messageId, token, "{\"kwh\":1234}"), waitMillis: 10_000);
            Assert.True(answer is not null, "no answer in the first session; silo log:\n" + platform.Silo.Output);
            Assert.Equal(NHub.Coap.CoapCode.Created, TelemetryDatagram.CodeOf(answer!));
            if (closeOldSession)
            {
                before.Session.Close(); // close_notify
            }
        }
        using var after = NHub.Gateway.Tests.Support.BcDtlsClient.Connect(server, credential.Summary.PskIdentity, credential.PskKey, bind: local);
        Assert.Equal(local, after.LocalEndPoint);
        var second = after.Exchange(TelemetryDatagram.Post(messageId, token, "{\"kwh\":1234}"), waitMillis: 10_000);
        Assert.True(second is not null, "no answer in the new session; silo log:\n" + platform.Silo.Output);
        Assert.Equal(NHub.Coap.CoapCode.Created, TelemetryDatagram.CodeOf(second!));

        var stored = await platform.ReadTelemetryAsync(id);
        Assert.Equal(["{\"kwh\":1234}", "{\"kwh\":1234}"], stored.Select(m => System.Text.Encoding.UTF8.GetString(m.Data!)).ToArray());
    }

    [Fact]
    public async Task Firmware_versions_that_cannot_exist_or_do_not_exist_are_4_04_and_activate_no_grain()
    {
        const string id = "dtls-fw-probe";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id);
        // libcoap percent-decodes the path: the Uri-Path option carries a NUL byte (it once reached PostgreSQL: 5.00).
        var nul = await LibCoap.RunAsync(Client, ["-m", "get", "-u", credential.Summary.PskIdentity, "-k", credential.PskKey,
            $"{platform.CoapsBase}/firmware/a%00b"]);
        Assert.Equal("4.04", nul.LastCode);

        var management = platform.Grains.GetGrain<IManagementGrain>(0);
        async Task<int> FirmwareActivations() => (await management.GetSimpleGrainStatistics())
            .Where(s => s.GrainType.StartsWith("NHub.Grains.FirmwareGrain,", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
        // One activation on purpose, so the count is shown to see firmware grains at all.
        await platform.Grains.GetGrain<NHub.Grains.IFirmwareGrain>("activation-probe").GetInfo();
        var before = await FirmwareActivations();
        Assert.True(before >= 1, "the statistics name no firmware grain: " + string.Join(", ", (await management.GetSimpleGrainStatistics()).Select(s => s.GrainType).Distinct()));

        using var client = NHub.Gateway.Tests.Support.BcDtlsClient.Connect(new IPEndPoint(IPAddress.Loopback, platform.Silo.CoapsPort),
            credential.Summary.PskIdentity, credential.PskKey);
        var firstId = (ushort)Random.Shared.Next(1, 30000);
        for (var i = 0; i < 300; i++)
        {
            // A device probing names: valid-looking versions that do not exist, and some that cannot be versions.
            var version = i % 3 == 0 ? $"bad version {i}\u0000" : $"9.{i}.0-probe";
            var answer = client.Exchange(TelemetryDatagram.Get((ushort)(firstId + i), [(byte)i], "/firmware/" + version), waitMillis: 10_000);
            Assert.True(answer is not null, $"no answer for {version}; silo log:\n" + platform.Silo.Output);
            Assert.Equal(NHub.Coap.CoapCode.NotFound, TelemetryDatagram.CodeOf(answer!));
        }

        Assert.Equal(before, await FirmwareActivations());
    }

    internal static async Task<JsonElement> PostCommandAsync(HttpClient api, string deviceId, string name, object parameters)
    {
        var response = await api.PostAsJsonAsync($"devices/{deviceId}/commands/", new { name, @params = parameters, ttl_seconds = 3600 });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    internal static Guid CommandId(JsonElement command) => command.GetProperty("id").GetGuid();

    /// <summary>
    /// The CBOR payloads of the PDUs libcoap logged (at -v 6 it prints a binary payload as hex), each decoded to
    /// diagnostic-like text so the test can look for command names.
    /// </summary>
    private static List<string> CborPayloads(string output)
    {
        var list = new List<string>();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(output, @"<<([0-9a-fA-F]+)>>"))
        {
            var reader = new CborReader(Convert.FromHexString(m.Groups[1].Value));
            list.Add(Describe(reader));
        }
        return list;
    }

    private static string Describe(CborReader reader)
    {
        var sb = new System.Text.StringBuilder();
        void Item()
        {
            switch (reader.PeekState())
            {
                case CborReaderState.StartArray:
                    reader.ReadStartArray();
                    sb.Append('[');
                    while (reader.PeekState() != CborReaderState.EndArray) { Item(); sb.Append(','); }
                    reader.ReadEndArray();
                    sb.Append(']');
                    break;
                case CborReaderState.StartMap:
                    reader.ReadStartMap();
                    sb.Append('{');
                    while (reader.PeekState() != CborReaderState.EndMap) { Item(); sb.Append(':'); Item(); sb.Append(','); }
                    reader.ReadEndMap();
                    sb.Append('}');
                    break;
                case CborReaderState.TextString:
                    sb.Append('"').Append(reader.ReadTextString()).Append('"');
                    break;
                default:
                    reader.SkipValue();
                    sb.Append('_');
                    break;
            }
        }
        Item();
        return sb.ToString();
    }
}
