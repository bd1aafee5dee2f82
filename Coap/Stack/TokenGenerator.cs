using System.Security.Cryptography;

namespace NHub.Coap.Stack;

/// <summary>
/// Tokens for requests this endpoint originates (the load generator's, a gateway's own requests). RFC 7252 §5.3.1:
/// a token is a request id local to the endpoint pair; an endpoint not protected by DTLS "SHOULD use a
/// non-trivial, randomized token" (at least 32 bits of randomness) against spoofed responses, so these are random.
/// </summary>
public static class TokenGenerator
{
    /// <summary>Fills <paramref name="destination"/> (0–8 bytes) with random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > 8)
        {
            throw new ArgumentException("A token is at most 8 bytes (RFC 7252 §5.3.1)", nameof(destination));
        }
        RandomNumberGenerator.Fill(destination);
    }

    /// <summary>A new random token of <paramref name="length"/> bytes (default 8).</summary>
    public static byte[] Next(int length = 8)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 8);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var token = new byte[length];
        RandomNumberGenerator.Fill(token);
        return token;
    }
}
