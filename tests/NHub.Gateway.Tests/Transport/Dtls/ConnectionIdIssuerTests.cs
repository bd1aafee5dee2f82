using NHub.Gateway.Transport.Dtls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>The CID layout of docs/dtls-connection-id.md: node byte, then a keyed permutation of a counter.</summary>
public sealed class ConnectionIdIssuerTests
{
    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(9)]
    [InlineData(16)]
    public void Cids_have_the_length_and_node_byte_and_never_repeat(int length)
    {
        using var issuer = new ConnectionIdIssuer(length, nodeId: 200);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 100_000; i++)
        {
            var cid = issuer.Next()!;
            Assert.Equal(length, cid.Length);
            Assert.Equal(200, ConnectionIdIssuer.NodeIdOf(cid));
            Assert.True(seen.Add(Convert.ToHexString(cid)), $"CID {Convert.ToHexString(cid)} issued twice after {i}");
        }
        Assert.Equal(100_000, issuer.Issued);
    }

    [Fact]
    public void Consecutive_cids_do_not_look_like_a_counter_and_depend_on_the_key()
    {
        var key = new byte[16];
        using var a = new ConnectionIdIssuer(6, 1, key);
        using var same = new ConnectionIdIssuer(6, 1, (byte[])key.Clone());
        using var other = new ConnectionIdIssuer(6, 1, [.. Enumerable.Repeat((byte)1, 16)]);
        var first = Enumerable.Range(0, 1000).Select(_ => Convert.ToHexString(a.Next()!)).ToList();
        Assert.Equal(first, Enumerable.Range(0, 1000).Select(_ => Convert.ToHexString(same.Next()!)).ToList());
        var third = Enumerable.Range(0, 1000).Select(_ => Convert.ToHexString(other.Next()!)).ToList();
        Assert.Empty(first.Intersect(third)); // another key, other CIDs (a chance hit: about 1 in a million)

        // A counter would change only its low bytes; the permutation spreads every increment over all 40 bits.
        var bytes = first.Select(Convert.FromHexString).ToList();
        for (var position = 1; position < 6; position++)
        {
            Assert.True(bytes.Select(b => b[position]).Distinct().Count() > 200, $"byte {position} barely varies");
        }
    }

    [Fact]
    public void Zero_length_means_no_cids_and_bad_settings_are_refused()
    {
        using var off = new ConnectionIdIssuer(0, 0);
        Assert.Null(off.Next());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionIdIssuer(4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionIdIssuer(17, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionIdIssuer(6, 256));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionIdIssuer(6, -1));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(17)]
    [InlineData(-1)]
    public void The_option_validation_names_the_setting(int length)
    {
        var options = new DtlsOptions { ConnectionIdLength = length };
        var results = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).ToList();
        Assert.Contains(results, r => r.ErrorMessage!.Contains("Gateway:Dtls:ConnectionIdLength", StringComparison.Ordinal));
    }
}
