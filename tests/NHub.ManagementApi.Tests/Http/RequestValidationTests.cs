using System.Text.Json;
using Microsoft.AspNetCore.Http;
using NHub.ManagementApi.Contracts;
using NHub.ManagementApi.Http;

namespace NHub.ManagementApi.Tests.Http;

public sealed class RequestValidationTests
{
    private static readonly JsonSerializerOptions Api = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };

    private static JsonException ParseError(string json)
    {
        return Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<SendCommandRequest>(json, Api));
    }

    [Theory]
    [InlineData("""{"name":"x","ttl_seconds":"60"}""", "ttl_seconds")]
    [InlineData("""{"name":5}""", "name")]
    public void A_value_of_the_wrong_type_is_an_error_of_that_field(string json, string field)
    {
        var problem = JsonBody<SendCommandRequest>.Malformed(ParseError(json)).ProblemDetails;
        Assert.Equal(StatusCodes.Status400BadRequest, problem.Status);
        var errors = Assert.IsType<HttpValidationProblemDetails>(problem).Errors;
        Assert.Equal([field], errors.Keys);
    }

    [Theory]
    [InlineData("""{"name":""")]
    [InlineData("""{"name":"x",}""")]
    [InlineData("nope")]
    public void Broken_json_is_a_plain_400_saying_so(string json)
    {
        var problem = JsonBody<SendCommandRequest>.Malformed(ParseError(json)).ProblemDetails;
        Assert.Equal(StatusCodes.Status400BadRequest, problem.Status);
        Assert.IsNotType<HttpValidationProblemDetails>(problem);
        Assert.Contains("not valid JSON", problem.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.2.3", true)]
    [InlineData("v2_0-rc.1", true)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    [InlineData("1.0+build", false)]
    public void Firmware_versions_are_restricted_to_url_and_subject_safe_characters(string version, bool valid)
    {
        Assert.Equal(valid, Identifiers.IsValidFirmwareVersion(version));
        Assert.True(Identifiers.IsValidFirmwareVersion(new string('v', 64)));
        Assert.False(Identifiers.IsValidFirmwareVersion(new string('v', 65)));
    }

    [Fact]
    public void Field_text_checks_length_and_control_characters()
    {
        var errors = new FieldErrors();
        errors.Text("model", "ok", 5);
        errors.Text("serial", null, 5);
        Assert.False(errors.Any);
        errors.Text("model", "too long", 5);
        errors.Text("imei", "a\nb", 5);
        var problem = Assert.IsType<HttpValidationProblemDetails>(errors.ToProblem().ProblemDetails);
        Assert.Equal(["imei", "model"], problem.Errors.Keys.Order(StringComparer.Ordinal));
    }
}
