namespace NHub.Grains;

/// <summary>
/// The platform's one Orleans stream provider (memory in embedded mode, NATS JetStream in production) and its namespaces.
/// </summary>
/// <remarks>
/// The NATS provider publishes on the subject <c>{provider}.{namespace}.{key}</c> and its JetStream subject transform
/// matches exactly <c>{provider}.*.*</c>: a namespace or key containing '.', '*', '&gt;' or whitespace lands on a subject no
/// consumer reads, silently. Namespaces here are single NATS tokens; keys must be GUIDs or validated tokens.
/// </remarks>
public static class PlatformStreams
{
    public const string ProviderName = "Default";
    public const string Probe = "nhub-probe";

    /// <summary>
    /// Credential revocations, broadcast to every gateway; key: <see cref="Guid.Empty"/>. (What goes to one gateway
    /// goes through its <see cref="IGatewayGrain"/>, not a stream.)
    /// </summary>
    public const string CredentialRevocations = "nhub-credential-revocations";

    /// <summary>True when <paramref name="token"/> can be one NATS subject token (see remarks).</summary>
    public static bool IsValidSubjectToken(string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }
        foreach (var c in token)
        {
            if (c is '.' or '*' or '>' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return false;
            }
        }
        return true;
    }
}
