using NHub.ManagementApi.Auth;

namespace NHub.ManagementApi.Tests.Auth;

public sealed class ApiKeyStoreTests
{
    private const string First = "first-key-0123456789abcdef";
    private const string Second = "second-key-0123456789abcdef";

    [Fact]
    public void Every_configured_key_is_accepted_and_nothing_else()
    {
        var store = new ApiKeyStore([First, Second], mayGenerate: false);
        Assert.Null(store.GeneratedKey);
        Assert.True(store.IsValid(First));
        Assert.True(store.IsValid(Second));
        foreach (var wrong in new[] { "", First[..^1], First + "x", First.ToUpperInvariant(), " " + First, "x", new string('a', ApiKeyStore.MaxKeyLength + 1) })
        {
            Assert.False(store.IsValid(wrong), wrong);
        }
    }

    [Fact]
    public void With_no_key_configured_one_is_generated_only_when_allowed()
    {
        var store = new ApiKeyStore([], mayGenerate: true);
        Assert.NotNull(store.GeneratedKey);
        Assert.True(store.GeneratedKey.Length >= 43); // 32 random bytes, base64url
        Assert.True(store.IsValid(store.GeneratedKey));
        Assert.NotEqual(store.GeneratedKey, new ApiKeyStore([], mayGenerate: true).GeneratedKey);

        Assert.Throws<InvalidOperationException>(() => new ApiKeyStore([], mayGenerate: false));
        Assert.Null(new ApiKeyStore([First], mayGenerate: true).GeneratedKey);
    }
}
