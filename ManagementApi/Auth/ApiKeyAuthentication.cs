using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using NHub.ServiceDefaults;

namespace NHub.ManagementApi.Auth;

/// <summary>
/// The accepted API keys, kept only as SHA-256 digests. Comparing digests of equal length with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>, and always against every key, keeps the time taken
/// independent of how much of a guess is right and of which key matched.
/// </summary>
public sealed class ApiKeyStore
{
    private readonly byte[][] _digests;

    /// <summary>The key this process generated (embedded mode with none configured), to be logged once; else null.</summary>
    public string? GeneratedKey { get; }

    public ApiKeyStore(IEnumerable<string> configuredKeys, bool mayGenerate)
    {
        var keys = configuredKeys.Where(k => !string.IsNullOrEmpty(k)).ToList();
        if (keys.Count == 0)
        {
            if (!mayGenerate)
            {
                throw new InvalidOperationException("ManagementApi:ApiKeys must contain at least one key");
            }
            GeneratedKey = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
            keys.Add(GeneratedKey);
        }
        _digests = [.. keys.Select(Digest)];
    }

    /// <summary>Longer bearer values are refused without hashing.</summary>
    public const int MaxKeyLength = 256;

    public bool IsValid(ReadOnlySpan<char> presented)
    {
        if (presented.IsEmpty || presented.Length > MaxKeyLength)
        {
            return false;
        }
        Span<byte> utf8 = stackalloc byte[MaxKeyLength * 3];
        var length = Encoding.UTF8.GetBytes(presented, utf8);
        Span<byte> candidate = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], candidate);
        var match = false;
        foreach (var digest in _digests)
        {
            match |= CryptographicOperations.FixedTimeEquals(candidate, digest);
        }
        return match;
    }

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    internal static ApiKeyStore Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ManagementApiOptions>>().Value;
        var mode = services.GetService<PlatformMode>() ?? PlatformMode.From(services.GetRequiredService<IConfiguration>());
        return new ApiKeyStore(options.ApiKeys, mayGenerate: mode.IsEmbedded);
    }
}

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> on <c>/api/v4/manage</c>. A missing or wrong key is answered 401 with
/// <c>WWW-Authenticate: Bearer</c> (RFC 6750 §3) and a problem+json body. Other paths are not this handler's business.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyStore keys,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ManagementApiKey";
    private const string BearerPrefix = "Bearer ";

    private static readonly ClaimsPrincipal Operator = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-key")], SchemeName));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Path.StartsWithSegments(ManagementApiExtensions.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || !keys.IsValid(header.AsSpan(BearerPrefix.Length).Trim()))
        {
            ManagementApiLog.ApiKeyRejected(Logger, Request.Method, Request.Path.Value);
            return Task.FromResult(AuthenticateResult.Fail("invalid API key"));
        }
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Operator, SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var presented = Request.Headers.Authorization.Count > 0;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        // RFC 6750 §3: no credentials → bare challenge; wrong credentials → error="invalid_token".
        Response.Headers[HeaderNames.WWWAuthenticate] = presented
            ? "Bearer realm=\"nhub-management\", error=\"invalid_token\""
            : "Bearer realm=\"nhub-management\"";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = Problems.Create(StatusCodes.Status401Unauthorized,
                presented ? "The API key is not valid." : "An API key is required: send 'Authorization: Bearer <key>'."),
        });
    }
}
