using NHub.ServiceDefaults;

namespace NHub.ManagementApi.Tests.Auth;

public sealed class ManagementApiOptionsValidatorTests
{
    private static readonly PlatformMode Embedded = new(null, null);
    private static readonly PlatformMode Production = new("Host=db", "nats://nats:4222");

    private static string? Failure(PlatformMode mode, ManagementApiOptions options) =>
        new ManagementApiOptionsValidator(mode).Validate(null, options).FailureMessage;

    [Fact]
    public void Production_mode_needs_a_key_and_says_which_setting()
    {
        Assert.Contains("ManagementApi:ApiKeys", Failure(Production, new ManagementApiOptions()), StringComparison.Ordinal);
        Assert.Null(Failure(Production, new ManagementApiOptions { ApiKeys = ["0123456789abcdef"] }));
        Assert.Null(Failure(Embedded, new ManagementApiOptions()));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("has a space in the middle")]
    [InlineData("                ")]
    public void Weak_keys_are_refused_by_index(string key)
    {
        Assert.Contains("ManagementApi:ApiKeys:1", Failure(Embedded, new ManagementApiOptions { ApiKeys = ["0123456789abcdef", key] }), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("coap://plain:5683")]
    [InlineData("https://host")]
    [InlineData("not a uri")]
    public void The_server_given_to_devices_must_be_coaps(string uri)
    {
        Assert.Contains("ManagementApi:CoapsServerUri", Failure(Embedded, new ManagementApiOptions { CoapsServerUri = uri }), StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_command_ttl_must_not_exceed_the_maximum()
    {
        var failure = Failure(Embedded, new ManagementApiOptions { DefaultCommandTtlSeconds = 100, MaxCommandTtlSeconds = 10 });
        Assert.Contains("ManagementApi:DefaultCommandTtlSeconds", failure, StringComparison.Ordinal);
    }
}
