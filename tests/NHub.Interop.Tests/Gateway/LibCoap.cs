using System.Text.RegularExpressions;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// Runs Debian's libcoap 4.3.1 clients. They exit 0 whatever the CoAP outcome, so the tests read the PDUs that
/// <c>-v 6</c> logs ("v:1 t:ACK c:2.01 i:… {token} [ options ] :: 'payload'").
/// </summary>
public static partial class LibCoap
{
    public sealed record Result(int ExitCode, string Output)
    {
        /// <summary>Response codes received (ACK/CON/NON PDUs with a 2.xx–5.xx code), in order.</summary>
        public IReadOnlyList<string> Codes => ReceivedCode().Matches(Output).Select(m => m.Groups[1].Value).ToList();

        public string? LastCode => Codes.Count == 0 ? null : Codes[^1];
    }

    public static async Task<Result> RunAsync(string client, IEnumerable<string> args, int timeoutSeconds = 60)
    {
        var (code, output) = await ExternalProcess.RunAsync(RepoPaths.Tool(client), ["-v", "6", .. args], TimeSpan.FromSeconds(timeoutSeconds));
        return new Result(code, output);
    }

    [GeneratedRegex(@"t:(?:ACK|CON|NON) c:([2-5]\.\d\d)")]
    private static partial Regex ReceivedCode();
}
