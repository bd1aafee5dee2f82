using Microsoft.Extensions.Configuration;
using NHub.ServiceDefaults;

namespace NHub.Platform.Tests;

public sealed class PlatformModeTests
{
    private static IConfiguration Config(params (string Key, string? Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();

    [Fact]
    public void Nothing_configured_is_embedded_mode()
    {
        var mode = PlatformMode.From(Config());
        Assert.True(mode.IsEmbedded);
        Assert.False(mode.UsesPostgres);
        Assert.False(mode.UsesNats);
    }

    [Fact]
    public void Postgres_and_nats_are_chosen_by_configuration_alone()
    {
        var mode = PlatformMode.From(Config(("ConnectionStrings:Postgres", "Host=db;Username=nhub"), ("Nats:Url", "nats://nats:4222")));
        Assert.True(mode.UsesPostgres);
        Assert.True(mode.UsesNats);
        Assert.False(mode.IsEmbedded);
    }

    [Theory]
    [InlineData("ConnectionStrings:Postgres", "Host=db;NoSuchKeyword=1", "ConnectionStrings:Postgres")]
    [InlineData("Nats:Url", "http://nats:4222", "Nats:Url")]
    [InlineData("Nats:Url", "nats-without-scheme", "Nats:Url")]
    public void A_bad_value_fails_with_a_message_naming_the_key(string key, string value, string named)
    {
        var ex = Assert.Throws<ConfigurationValidationException>(() => PlatformMode.From(Config((key, value))));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Orleans:SiloPort", "0", "Orleans:SiloPort")]
    [InlineData("Orleans:GatewayPort", "65536", "Orleans:GatewayPort")]
    [InlineData("Orleans:ClusterId", "", "Orleans:ClusterId")]
    public void Cluster_options_are_validated_with_the_key_named(string key, string value, string named)
    {
        var ex = Assert.Throws<ConfigurationValidationException>(() => OptionsGuard.Bind<OrleansClusterOptions>(Config((key, value)), OrleansClusterOptions.Section));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_name_that_is_not_a_nats_token_is_rejected()
    {
        var ex = Assert.Throws<ConfigurationValidationException>(() => OptionsGuard.Bind<NatsSettings>(Config(("Nats:OrleansStreamName", "a.b")), NatsSettings.Section));
        Assert.Contains("Nats:OrleansStreamName", ex.Message, StringComparison.Ordinal);
    }
}
