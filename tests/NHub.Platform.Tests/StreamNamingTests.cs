using System.Reflection;
using NHub.Grains;

namespace NHub.Platform.Tests;

/// <summary>
/// The NATS stream provider silently loses events whose namespace is not a single subject token
/// (see <see cref="PlatformStreams"/>): every namespace we declare must be one.
/// </summary>
public sealed class StreamNamingTests
{
    public static TheoryData<string> Namespaces()
    {
        var data = new TheoryData<string>();
        foreach (var field in typeof(PlatformStreams).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.IsLiteral && field.FieldType == typeof(string))
            {
                data.Add((string)field.GetRawConstantValue()!);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Namespaces))]
    public void Every_stream_namespace_is_a_single_nats_subject_token(string name) =>
        Assert.True(PlatformStreams.IsValidSubjectToken(name), $"'{name}' is not a single NATS subject token");

    [Theory]
    [InlineData("a.b")]
    [InlineData("a*")]
    [InlineData(">")]
    [InlineData("a b")]
    [InlineData("")]
    public void Subject_token_guard_rejects_separators_and_wildcards(string token) =>
        Assert.False(PlatformStreams.IsValidSubjectToken(token));
}
