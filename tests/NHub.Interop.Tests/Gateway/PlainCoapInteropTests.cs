using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using NHub.Grains;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>Debian libcoap's coap-client-notls and npm coap 1.5.0 against the platform's plain CoAP port (embedded mode).</summary>
public sealed class PlainCoapInteropTests(EmbeddedPlatform platform) : IClassFixture<EmbeddedPlatform>
{
    private const string Client = "coap-client-notls";

    [Fact]
    public async Task Json_telemetry_is_created_and_reaches_the_twin()
    {
        var device = await platform.ProvisionAsync("plain-json");
        var r = await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/json", "-e", "{\"temperature\": 23.5}", $"{platform.CoapBase}/telemetry?id=plain-json"]);
        Assert.Equal("2.01", r.LastCode);
        var recent = await device.GetRecentTelemetry(1);
        Assert.Equal("{\"temperature\": 23.5}", Encoding.UTF8.GetString(Assert.Single(recent!).Payload));
        Assert.Equal(50, recent![0].ContentFormat);
    }

    [Fact]
    public async Task Cbor_telemetry_is_created_and_malformed_cbor_is_4_00()
    {
        var device = await platform.ProvisionAsync("plain-cbor");
        var w = new CborWriter();
        w.WriteStartMap(1);
        w.WriteTextString("temperature");
        w.WriteDouble(23.5);
        w.WriteEndMap();
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, w.Encode());
        var ok = await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/cbor", "-f", file, $"{platform.CoapBase}/telemetry?id=plain-cbor"]);
        Assert.Equal("2.01", ok.LastCode);
        Assert.Equal(w.Encode(), Assert.Single((await device.GetRecentTelemetry(5))!).Payload);

        await File.WriteAllBytesAsync(file, [0xA1, 0x61]); // map of 1 with a truncated key
        var bad = await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/cbor", "-f", file, $"{platform.CoapBase}/telemetry?id=plain-cbor"]);
        Assert.Equal("4.00", bad.LastCode);
        File.Delete(file);
    }

    [Fact]
    public async Task A_4_kib_payload_goes_block1_in_64_byte_blocks_and_arrives_whole()
    {
        var device = await platform.ProvisionAsync("plain-block1");
        var json = "{\"samples\":[" + string.Join(',', Enumerable.Range(0, 700).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]}";
        var padded = json.PadRight(4096); // trailing whitespace keeps it one well-formed JSON value of exactly 4 KiB
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, padded);
        var r = await LibCoap.RunAsync(Client, ["-m", "post", "-b", "64", "-t", "application/json", "-f", file, $"{platform.CoapBase}/telemetry?id=plain-block1"]);
        File.Delete(file);
        // libcoap logs only the first request and the final response: that final 2.01 echoes the last block,
        // NUM 63 of 64-byte blocks (4096 bytes), with M clear (RFC 7959 §2.3).
        Assert.Equal("2.01", r.LastCode);
        Assert.Contains("Block1:0/M/64", r.Output, StringComparison.Ordinal);
        Assert.Contains("Block1:63/_/64", r.Output, StringComparison.Ordinal);
        Assert.Equal(padded, Encoding.UTF8.GetString(Assert.Single((await device.GetRecentTelemetry(5))!).Payload));
    }

    [Fact]
    public async Task Well_known_core_lists_the_resources()
    {
        var r = await LibCoap.RunAsync(Client, ["-m", "get", $"{platform.CoapBase}/.well-known/core"]);
        Assert.Equal("2.05", r.LastCode);
        Assert.Contains("</telemetry>", r.Output, StringComparison.Ordinal);
        Assert.Contains("</commands/{device_id}>", r.Output, StringComparison.Ordinal);
        Assert.Contains("</firmware/{version}>", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_guides_error_codes_are_returned()
    {
        Assert.Equal("4.00", (await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/json", "-e", "{}", $"{platform.CoapBase}/telemetry"])).LastCode);
        Assert.Equal("4.00", (await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/json", "-e", "{}", $"{platform.CoapBase}/telemetry?id="])).LastCode);
        Assert.Equal("4.15", (await LibCoap.RunAsync(Client, ["-m", "post", "-t", "text/plain", "-e", "x", $"{platform.CoapBase}/telemetry?id=any"])).LastCode);
        Assert.Equal("4.04", (await LibCoap.RunAsync(Client, ["-m", "get", $"{platform.CoapBase}/nowhere"])).LastCode);
        Assert.Equal("4.05", (await LibCoap.RunAsync(Client, ["-m", "put", $"{platform.CoapBase}/telemetry"])).LastCode);
    }

    [Fact]
    public async Task An_observer_receives_a_command_posted_while_it_observes_and_pending_ones_at_registration()
    {
        var device = await platform.ProvisionAsync("plain-obs");
        var pending = await device.EnqueueCommand(new CommandRequest("reboot", "{\"delay\":1}", 3600));

        var observing = LibCoap.RunAsync(Client, ["-m", "get", "-s", "8", $"{platform.CoapBase}/commands/plain-obs"], timeoutSeconds: 60);
        // The registration returns the pending command (delivered on the device's ACK, logged as a lifecycle event in
        // embedded mode); once the relation exists, post another, which arrives as a notification.
        await platform.Silo.WaitForLineAsync("Device plain-obs command_delivered", TimeSpan.FromSeconds(30));
        Assert.Equal(CommandStatus.Delivered, (await device.ListCommands())!.Single(c => c.Id == pending!.Id).Status);
        await device.EnqueueCommand(new CommandRequest("set_interval", "{\"seconds\":60}", 3600));
        var r = await observing;
        Assert.Contains("reboot", r.Output, StringComparison.Ordinal);
        Assert.Contains("set_interval", r.Output, StringComparison.Ordinal);
        var commands = await device.ListCommands();
        Assert.All(commands!, c => Assert.Equal(CommandStatus.Delivered, c.Status));
    }

    [Fact]
    public async Task Firmware_downloads_with_block2_byte_identical_and_the_twin_shows_completion()
    {
        var device = await platform.ProvisionAsync("plain-fw");
        var image = RandomNumberGenerator.GetBytes(300 * 1024);
        await platform.Grains.GetGrain<IFirmwareGrain>("2.0.0").Store(image);
        var output = Path.GetTempFileName();
        var r = await LibCoap.RunAsync("coap-client-notls", ["-m", "get", "-b", "512", "-o", output, $"{platform.CoapBase}/firmware/2.0.0?id=plain-fw"], timeoutSeconds: 120);
        Assert.Equal("2.05", r.LastCode);
        Assert.Equal(SHA256.HashData(image), SHA256.HashData(await File.ReadAllBytesAsync(output)));
        File.Delete(output);

        var progress = await device.GetFirmwareProgress();
        Assert.Equal("2.0.0", progress!.Version);
        Assert.NotNull(progress.CompletedAt);
        Assert.Equal(image.Length, progress.TotalBytes);

        Assert.Equal("4.04", (await LibCoap.RunAsync(Client, ["-m", "get", $"{platform.CoapBase}/firmware/9.9.9"])).LastCode);
    }

    [Fact]
    public async Task Npm_coap_posts_telemetry()
    {
        var device = await platform.ProvisionAsync("plain-npm");
        var script = Path.Combine(AppContext.BaseDirectory, "Gateway", "npm-coap-post.js");
        var (code, output) = await ExternalProcess.RunAsync("node", [script, "127.0.0.1", platform.Silo.CoapPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "plain-npm", "{\"temperature\":21}"],
            TimeSpan.FromSeconds(60), new Dictionary<string, string?> { ["NODE_PATH"] = Path.Combine(RepoPaths.Root, ".tools", "node", "node_modules") });
        Assert.True(code == 0, output);
        Assert.Contains("code=2.01", output, StringComparison.Ordinal);
        Assert.Equal("{\"temperature\":21}", Encoding.UTF8.GetString(Assert.Single((await device.GetRecentTelemetry(5))!).Payload));
    }
}
