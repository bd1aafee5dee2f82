using System.Net;
using System.Net.Http.Headers;
using NHub.Testing;

namespace NHub.Integration.Tests.ManagementApi;

/// <summary>Where the API key comes from when none is configured. These start their own (cheap) silos: no servers needed.</summary>
public sealed class ApiKeyStartupTests
{
    [Fact]
    public async Task Embedded_mode_without_a_key_generates_one_logs_it_once_and_accepts_only_it()
    {
        await using var silo = new SiloProcess("embedded-api", new Dictionary<string, string?>());
        await silo.StartAsync();
        var line = System.Text.RegularExpressions.Regex.Matches(silo.Output, @"Management API key \(generated, embedded mode\): (\S+)");
        var key = Assert.Single(line).Groups[1].Value;
        Assert.True(key.Length >= 32, key);

        using var http = new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/api/v4/manage/devices", UriKind.Relative))).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/api/v4/manage/devices", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Production_mode_without_a_key_stops_at_start_naming_the_setting()
    {
        // Nats:Url alone makes it production mode; the key check fails before anything connects.
        await using var silo = new SiloProcess("no-api-key", new Dictionary<string, string?> { ["Nats__Url"] = "nats://127.0.0.1:1" });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => silo.StartAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("exited", error.Message, StringComparison.Ordinal);
        Assert.Contains("ManagementApi:ApiKeys", silo.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ManagementApi__ApiKeys__0", "short", "ManagementApi:ApiKeys:0")]
    [InlineData("ManagementApi__CoapsServerUri", "http://not-coaps", "ManagementApi:CoapsServerUri")]
    [InlineData("ManagementApi__MaxFirmwareBytes", "0", "ManagementApi:MaxFirmwareBytes")]
    public async Task A_bad_api_setting_stops_the_host_at_start_naming_the_key(string variable, string value, string key)
    {
        await using var silo = new SiloProcess("bad-api-config", new Dictionary<string, string?> { [variable] = value });
        await Assert.ThrowsAsync<InvalidOperationException>(() => silo.StartAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(key, silo.Output, StringComparison.Ordinal);
    }
}
