using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using NHub.ServiceDefaults;

namespace NHub.ManagementApi;

/// <summary>The management API's settings, bound from the <c>ManagementApi</c> section and validated at start.</summary>
public sealed class ManagementApiOptions
{
    public const string Section = "ManagementApi";

    /// <summary>
    /// Bearer keys accepted on <c>/api/v4/manage</c> (<c>ManagementApi:ApiKeys:0</c>, <c>:1</c>, ...; several keys let
    /// operators rotate them). Required in production mode; in embedded mode an empty list makes the host generate one.
    /// </summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>The DTLS endpoint devices are told to use, returned as <c>server</c> with every issued credential.</summary>
    [Required(ErrorMessage = "ManagementApi:CoapsServerUri must be set")]
    public string CoapsServerUri { get; set; } = "coaps://localhost:5684";

    /// <summary>Largest firmware image accepted by <c>PUT /firmware/{version}</c>; larger uploads get 413.</summary>
    [Range(1, 256L * 1024 * 1024, ErrorMessage = "ManagementApi:MaxFirmwareBytes must be between 1 and 268435456")]
    public long MaxFirmwareBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Command lifetime when a request gives no <c>ttl_seconds</c>.</summary>
    [Range(1, 31_536_000, ErrorMessage = "ManagementApi:DefaultCommandTtlSeconds must be between 1 and 31536000")]
    public int DefaultCommandTtlSeconds { get; set; } = 86_400;

    /// <summary>Longest <c>ttl_seconds</c> accepted (the twin enforces its own Devices:MaxCommandTtlSeconds too).</summary>
    [Range(1, 31_536_000, ErrorMessage = "ManagementApi:MaxCommandTtlSeconds must be between 1 and 31536000")]
    public int MaxCommandTtlSeconds { get; set; } = 30 * 86_400;

    /// <summary>Largest command <c>params</c> object, as compact UTF-8 JSON; it travels in a CoAP notification.</summary>
    [Range(2, 65_536, ErrorMessage = "ManagementApi:MaxCommandParamsBytes must be between 2 and 65536")]
    public int MaxCommandParamsBytes { get; set; } = 4096;

    /// <summary>Largest JSON request body on the API (device records, commands); larger requests get 413.</summary>
    [Range(1024, 16 * 1024 * 1024, ErrorMessage = "ManagementApi:MaxJsonBodyBytes must be between 1024 and 16777216")]
    public int MaxJsonBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Keys shorter than this are refused at start: they would be guessable.</summary>
    public const int MinApiKeyLength = 16;
}

/// <summary>The checks data annotations cannot express; each message names the key to fix.</summary>
internal sealed class ManagementApiOptionsValidator(PlatformMode mode) : IValidateOptions<ManagementApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ManagementApiOptions options)
    {
        var failures = new List<string>();
        if (options.ApiKeys.Count == 0 && !mode.IsEmbedded)
        {
            failures.Add("ManagementApi:ApiKeys must contain at least one key in production mode " +
                "(ConnectionStrings:Postgres or Nats:Url is set); set ManagementApi__ApiKeys__0 to a random secret of at least " +
                $"{ManagementApiOptions.MinApiKeyLength} characters");
        }
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            if (string.IsNullOrWhiteSpace(key) || key.Length < ManagementApiOptions.MinApiKeyLength || HasWhitespace(key))
            {
                failures.Add($"ManagementApi:ApiKeys:{i} must be at least {ManagementApiOptions.MinApiKeyLength} characters without whitespace");
            }
        }
        if (!Uri.TryCreate(options.CoapsServerUri, UriKind.Absolute, out var server) || server.Scheme != "coaps")
        {
            failures.Add($"ManagementApi:CoapsServerUri must be an absolute coaps:// URI, got '{options.CoapsServerUri}'");
        }
        if (options.DefaultCommandTtlSeconds > options.MaxCommandTtlSeconds)
        {
            failures.Add("ManagementApi:DefaultCommandTtlSeconds must not exceed ManagementApi:MaxCommandTtlSeconds");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool HasWhitespace(string key)
    {
        foreach (var c in key)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return true;
            }
        }
        return false;
    }
}
