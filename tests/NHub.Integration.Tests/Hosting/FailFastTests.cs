using NHub.ServiceDefaults;
using NHub.Testing;

namespace NHub.Integration.Tests.Hosting;

/// <summary>
/// A production host with a missing or bad setting exits before any listener opens, non-zero, with exactly one
/// stderr line naming the key and no stack trace. The PostgreSQL server named here does not exist: validation
/// must happen before anything tries to reach it (the baseline test shows what happens when it does).
/// </summary>
public sealed class FailFastTests
{
    private const string UnreachablePostgres = "Host=127.0.0.1;Port=1;Database=nhub;Username=nhub;Password=x;Timeout=2";

    /// <summary>Everything a production silo needs, valid (only the database is unreachable).</summary>
    private static Dictionary<string, string?> Production() => new()
    {
        ["ConnectionStrings__Postgres"] = UnreachablePostgres,
        ["Nats__Url"] = "nats://127.0.0.1:1",
        ["Security__MasterKey"] = ClusterSettings.TestMasterKey,
        ["ManagementApi__ApiKeys__0"] = ClusterSettings.TestApiKey,
    };

    private static Dictionary<string, string?> Without(string key)
    {
        var settings = Production();
        settings.Remove(key);
        return settings;
    }

    private static Dictionary<string, string?> With(string key, string value)
    {
        var settings = Production();
        settings[key] = value;
        return settings;
    }

    public static TheoryData<string, string> SiloCases() => new()
    {
        { "missing:Security__MasterKey", "Security:MasterKey" },
        { "Security__MasterKey=not base64!", "Security:MasterKey" },
        { "Security__MasterKey=AAECAwQFBgcICQoLDA0ODw==", "Security:MasterKey" }, // 16 bytes
        { "missing:ManagementApi__ApiKeys__0", "ManagementApi:ApiKeys" },
        { "ManagementApi__ApiKeys__0=seven77", "ManagementApi:ApiKeys:0" },
        { "ConnectionStrings__Postgres=Port=5432;Database=nhub", "ConnectionStrings:Postgres" },
        { "ConnectionStrings__Postgres=Host=x;Port=abc", "ConnectionStrings:Postgres" },
        { "ConnectionStrings__Postgres=Host=x;No Such Key=1", "ConnectionStrings:Postgres" },
        { "Nats__Url=not a url", "Nats:Url" },
        { "Orleans__SiloPort=0", "Orleans:SiloPort" },
        { "Orleans__GatewayPort=70000", "Orleans:GatewayPort" },
        { "Orleans__AdvertisedIPAddress=not-an-ip", "Orleans:AdvertisedIPAddress" },
        { "Orleans__GrainCollectionAge=00:00:30", "Orleans:GrainCollectionAge" },
        { "Gateway__Udp__Port=70000", "Gateway:Udp:Port" },
        { "Gateway__Dtls__Port=-1", "Gateway:Dtls:Port" },
        { "Gateway__Dtls__HandshakeTimeout=soon", "Gateway:Dtls:HandshakeTimeout" },
        { "Gateway__Tcp__MaxMessageSize=100", "Gateway:Tcp:MaxMessageSize" },
        { "Gateway__Tcp__BindAddress=not-an-ip", "Gateway:Tcp:BindAddress" },
        { "Gateway__Tcp__TlsPort=99999", "Gateway:Tcp:TlsPort" },
        { "Devices__AutoProvisionMaxDevices=-1", "Devices:AutoProvisionMaxDevices" },
    };

    private static Dictionary<string, string?> Apply(string change) =>
        change.StartsWith("missing:", StringComparison.Ordinal)
            ? Without(change["missing:".Length..])
            : With(change[..change.IndexOf('=', StringComparison.Ordinal)], change[(change.IndexOf('=', StringComparison.Ordinal) + 1)..]);

    [Theory]
    [MemberData(nameof(SiloCases))]
    public async Task A_production_silo_with_a_missing_or_bad_setting_exits_with_one_line_naming_it(string change, string key)
    {
        var exit = await HostExit.RunAsync("Silo", "NHub.Silo", Apply(change));
        AssertOneLineNaming(exit, key);
    }

    [Fact]
    public async Task A_bad_http_listen_address_is_named_too()
    {
        var exit = await HostExit.RunAsync("Silo", "NHub.Silo", Production(), urls: "ftp://127.0.0.1:8080");
        AssertOneLineNaming(exit, "Urls");
    }

    [Fact]
    public async Task With_every_setting_valid_the_silo_gets_as_far_as_the_database_and_says_in_one_line_it_is_unreachable()
    {
        var exit = await HostExit.RunAsync("Silo", "NHub.Silo", Production());
        Assert.Equal(StartupGuard.UnavailableExitCode, exit.ExitCode);
        var line = Assert.Single(exit.ErrorLines);
        Assert.Contains("cannot reach PostgreSQL (ConnectionStrings:Postgres)", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", exit.Errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing:ManagementApi__ApiKeys__0", "ManagementApi:ApiKeys")]
    [InlineData("ManagementApi__ApiKeys__0=has a space in it ok", "ManagementApi:ApiKeys:0")]
    [InlineData("ConnectionStrings__Postgres=Host=x;Port=abc", "ConnectionStrings:Postgres")]
    [InlineData("ManagementApi__MaxFirmwareBytes=0", "ManagementApi:MaxFirmwareBytes")]
    public async Task The_standalone_management_api_fails_fast_the_same_way(string change, string key)
    {
        var exit = await HostExit.RunAsync("ManagementApi", "NHub.ManagementApi", Apply(change));
        AssertOneLineNaming(exit, key);
    }

    [Theory]
    [InlineData("Gateway__Udp__Port=70000", "Gateway:Udp:Port")]
    [InlineData("Gateway__PlainMode=Sometimes", "Gateway:PlainMode")]
    [InlineData("Nats__Url=not a url", "Nats:Url")]
    [InlineData("Gateway__Dtls__MaxPeers=0", "Gateway:Dtls:MaxPeers")]
    [InlineData("Gateway__Dtls__Certificate__Path=/nonexistent/gateway.crt", "Gateway:Dtls:Certificate:Path")]
    [InlineData("Gateway__Dtls__ResumptionLifetime=2.00:00:00", "Gateway:Dtls:ResumptionLifetime")]
    public async Task The_standalone_gateway_fails_fast_the_same_way(string change, string key)
    {
        var exit = await HostExit.RunAsync("Gateway.Udp", "NHub.Gateway.Udp", Apply(change));
        AssertOneLineNaming(exit, key);
    }

    private static void AssertOneLineNaming(HostExit exit, string key)
    {
        Assert.True(exit.ExitCode == StartupGuard.ConfigurationErrorExitCode, $"exit code {exit.ExitCode}, output:\n{exit.Output}");
        var line = Assert.Single(exit.ErrorLines);
        Assert.Contains("configuration error", line, StringComparison.Ordinal);
        Assert.Contains(key, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", exit.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", exit.Output, StringComparison.Ordinal);
        // Nothing listened: the host never got as far as Kestrel or the CoAP endpoints.
        Assert.DoesNotContain("Now listening", exit.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("transport listening", exit.Output, StringComparison.Ordinal);
    }
}
