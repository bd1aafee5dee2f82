using System.Security.Cryptography;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The name of one DTLS session outside the gateway process: "dtls:" + 24 hex digits of
/// SHA-256("nhub-dtls-session" ‖ ClientHello.random ‖ ServerHello.random).
/// <para>
/// Why these inputs: RFC 7252 §9.1 makes a message a duplicate only within the same session and epoch, so the key
/// must change with every handshake, also one from the same address and port (a rebooted device). The two randoms
/// (RFC 5246 §7.4.1.2, 32 bytes each) are fresh per handshake and known to both ends and to any gateway that later
/// holds the session, unlike our process-local session counter; the server random alone is 28 bytes from a CSPRNG,
/// so two sessions share a key with probability ~2^-96 (the 96 bits kept). The hash keeps the key from exposing the
/// randoms in logs and JetStream message ids, and the label keeps it apart from any other use of them.
/// </para>
/// </summary>
internal static class DtlsSessionKey
{
    private static readonly byte[] Label = "nhub-dtls-session"u8.ToArray();

    public static string From(ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom)
    {
        Span<byte> input = stackalloc byte[Label.Length + clientRandom.Length + serverRandom.Length];
        Label.CopyTo(input);
        clientRandom.CopyTo(input[Label.Length..]);
        serverRandom.CopyTo(input[(Label.Length + clientRandom.Length)..]);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return "dtls:" + Convert.ToHexStringLower(hash[..12]);
    }
}
