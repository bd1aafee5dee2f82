using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// The stateless cookie exchange (RFC 6347 §4.2.1) with a secret that rotates every <c>period</c>. The RFC: "the
/// server could generate a new secret periodically and verify cookies made with either the current or the
/// previous secret". Secrets belong to fixed periods (0, P, 2P, ... after start), so a cookie is accepted while the
/// period that issued it is the current or the previous one: for at least one period and at most two. A harvested
/// cookie (it only proves that someone could receive at that address once) stops working within two periods.
/// BouncyCastle's <see cref="DtlsVerifier"/> does the parsing and the HMAC; this class owns which secrets are live.
/// Rotation is computed from the clock on use, not by a timer: nothing runs while no ClientHello arrives.
/// </summary>
internal sealed class CookieVerifier
{
    private readonly TlsCrypto _crypto;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly long _periodTicks;
    private readonly Lock _gate = new();
    private Secrets _secrets;

    public CookieVerifier(TlsCrypto crypto, TimeProvider time, TimeSpan period)
    {
        _crypto = crypto;
        _time = time;
        _start = time.GetTimestamp();
        _periodTicks = Math.Max(1, (long)(period.TotalSeconds * time.TimestampFrequency));
        _secrets = new Secrets(0, new DtlsVerifier(crypto), null);
    }

    /// <summary>Secret rotations so far (for tests and diagnostics).</summary>
    public long Rotations { get; private set; }

    /// <summary>
    /// A <see cref="DtlsRequest"/> when the ClientHello carries a cookie made with a live secret; otherwise null,
    /// having sent a HelloVerifyRequest with a current-secret cookie through <paramref name="sender"/> (unless the
    /// ClientHello was malformed). <paramref name="hasCookie"/> false skips the previous secret: an empty cookie
    /// cannot match it.
    /// </summary>
    public DtlsRequest? Verify(byte[] clientId, byte[] data, HelloVerifySender sender, bool hasCookie, out bool previousSecret)
    {
        previousSecret = false;
        var secrets = Current();
        if (secrets.Previous is null || !hasCookie)
        {
            return secrets.Current.VerifyRequest(clientId, data, 0, data.Length, sender);
        }
        // Hold the HelloVerifyRequest back until the previous secret had its chance.
        sender.Defer = true;
        DtlsRequest? request;
        try
        {
            request = secrets.Current.VerifyRequest(clientId, data, 0, data.Length, sender);
        }
        finally
        {
            sender.Defer = false;
        }
        if (request is not null)
        {
            sender.DiscardDeferred();
            return request;
        }
        request = secrets.Previous.VerifyRequest(clientId, data, 0, data.Length, DiscardingSender.Instance);
        if (request is not null)
        {
            sender.DiscardDeferred();
            previousSecret = true;
            return request;
        }
        sender.SendDeferred();
        return null;
    }

    private Secrets Current()
    {
        var index = (_time.GetTimestamp() - _start) / _periodTicks;
        var secrets = Volatile.Read(ref _secrets);
        if (index <= secrets.Index)
        {
            return secrets;
        }
        lock (_gate)
        {
            secrets = _secrets;
            if (index > secrets.Index)
            {
                // One period on: the current secret becomes the previous one. Two or more (no ClientHello for a
                // while): both are too old, so no previous secret.
                var previous = index == secrets.Index + 1 ? secrets.Current : null;
                secrets = new Secrets(index, new DtlsVerifier(_crypto), previous);
                Volatile.Write(ref _secrets, secrets);
                Rotations++;
            }
            return secrets;
        }
    }

    private sealed record Secrets(long Index, DtlsVerifier Current, DtlsVerifier? Previous);

    /// <summary>The previous secret never answers: its cookies are no longer issued.</summary>
    private sealed class DiscardingSender : DatagramSender
    {
        public static readonly DiscardingSender Instance = new();

        public int GetSendLimit() => 1500;

        public void Send(byte[] buf, int off, int len)
        {
        }

        public void Send(ReadOnlySpan<byte> buffer)
        {
        }
    }
}
