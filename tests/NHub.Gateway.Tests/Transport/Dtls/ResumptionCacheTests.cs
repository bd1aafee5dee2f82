using Microsoft.Extensions.Time.Testing;
using NHub.Gateway.Transport.Dtls;
using NHub.Testing;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The resumable sessions a gateway keeps: the oldest dropped past the capacity, none past the lifetime, memory bounded under churn.</summary>
public sealed class ResumptionCacheTests : IDisposable
{
    private readonly BcTlsCrypto _crypto = new(new SecureRandom());
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly TestCertificate _device = TestCertificates.Device("meter-resume");

    public void Dispose() => _device.Dispose();

    private (byte[] Id, TlsSession Session) NewSession(int n)
    {
        var id = new byte[32];
        BitConverter.GetBytes(n).CopyTo(id, 0);
        var parameters = new SessionParameters.Builder()
            .SetCipherSuite(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)
            .SetMasterSecret(_crypto.CreateSecret(new byte[48]))
            .SetNegotiatedVersion(ProtocolVersion.DTLSv12)
            .SetExtendedMasterSecret(true)
            .Build();
        return (id, TlsUtilities.ImportSession(id, parameters));
    }

    private Certificate Peer => new([new BcTlsCertificate(_crypto, _device.Der)]);

    [Fact]
    public void Past_the_capacity_the_oldest_session_goes_and_past_the_lifetime_every_one()
    {
        var cache = new ResumptionCache(2, TimeSpan.FromHours(1), _time);
        var (a, sa) = NewSession(1);
        var (b, sb) = NewSession(2);
        var (c, sc) = NewSession(3);
        cache.Add(sa, Peer);
        cache.Add(sb, Peer);
        cache.Add(sc, Peer);

        Assert.Null(cache.Find(a));
        Assert.Same(sb, cache.Find(b)!.Session);
        Assert.Same(sc, cache.Find(c)!.Session);

        _time.Advance(TimeSpan.FromHours(1.5));
        Assert.Null(cache.Find(b));
        Assert.Null(cache.Find(c));
    }

    [Fact]
    public void Sessions_added_and_removed_again_do_not_pile_up_in_the_order_it_keeps()
    {
        var cache = new ResumptionCache(4, TimeSpan.FromHours(24), _time);
        for (var n = 0; n < 1_000; n++)
        {
            var (id, session) = NewSession(n);
            cache.Add(session, Peer);
            cache.Remove(id); // a declined resumption, or a session BouncyCastle invalidated
        }
        var (last, kept) = NewSession(5_000);
        cache.Add(kept, Peer);

        Assert.True(cache.Queued <= 8, $"{cache.Queued} queued for a capacity of 4");
        Assert.Equal(1, cache.Count);
        Assert.Same(kept, cache.Find(last)!.Session);
    }
}
