using System.Security.Cryptography;
using NHub.Gateway.Transport.Dtls;
using Org.BouncyCastle.Tls;

namespace NHub.Gateway.Tests.Transport.Dtls;

/// <summary>
/// The gateway's record protection without sockets. Interoperability with real stacks is proven elsewhere (BouncyCastle
/// client, libcoap on OpenSSL, GnuTLS and Mbed TLS); these pin what a record is bound to. The "device" is the client
/// side of the same key block (as the device simulator uses it), so it reads what the server writes and the reverse.
/// </summary>
public sealed class DtlsRecordCipherTests
{
    public static TheoryData<int> Suites => [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, CipherSuite.TLS_PSK_WITH_AES_128_CCM,
        CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256];

    private static readonly byte[] Cid = [7, 1, 2, 3, 4, 5];

    [Theory]
    [MemberData(nameof(Suites))]
    public void A_sealed_record_opens_once_with_the_peers_keys_and_carries_its_content_type(int suite)
    {
        var (server, device) = Pair(suite);
        var record = new byte[256];
        var length = server.Seal(DtlsRecordHeader.ApplicationData, 1, 42, [], "hello"u8, record);
        Assert.Equal(server.RecordLength(5, 0), length);
        Assert.True(Open(device, record.AsSpan(0, length), 0, out var plain, out var type));
        Assert.Equal("hello"u8.ToArray(), plain);
        Assert.Equal(DtlsRecordHeader.ApplicationData, type);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void The_client_side_writes_with_the_client_keys_so_only_the_server_opens_what_it_seals(int suite)
    {
        var (server, device) = Pair(suite);
        var record = new byte[256];
        var length = device.Seal(DtlsRecordHeader.ApplicationData, 1, 7, [], "uplink"u8, record);
        Assert.False(Open(device, record.AsSpan(0, length), 0, out _, out _)); // its own write key is not its read key
        Assert.True(Open(server, record.AsSpan(0, length), 0, out var plain, out _));
        Assert.Equal("uplink"u8.ToArray(), plain);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void A_record_with_a_connection_id_hides_its_real_type_and_is_bound_to_the_cid(int suite)
    {
        var (server, device) = Pair(suite);
        var record = new byte[256];
        var length = server.Seal(DtlsRecordHeader.Alert, 1, 9, Cid, [1, 0], record);
        Assert.Equal(DtlsRecordHeader.ConnectionId, record[0]); // RFC 9146 §4: the outer type is tls12_cid
        Assert.Equal(Cid, record.AsSpan(11, Cid.Length).ToArray());
        Assert.True(Open(device, record.AsSpan(0, length), Cid.Length, out var plain, out var type));
        Assert.Equal(DtlsRecordHeader.Alert, type);
        Assert.Equal(new byte[] { 1, 0 }, plain);

        // The same bytes claimed under another CID do not authenticate (the CID is in the additional data).
        record[12] ^= 1;
        Assert.False(Open(device, record.AsSpan(0, length), Cid.Length, out _, out _));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Any_changed_byte_or_another_sequence_number_fails_authentication(int suite)
    {
        var (server, device) = Pair(suite);
        var record = new byte[256];
        var length = server.Seal(DtlsRecordHeader.ApplicationData, 1, 1000, [], RandomNumberGenerator.GetBytes(37), record);
        for (var i = 0; i < length; i++)
        {
            var copy = record.AsSpan(0, length).ToArray();
            copy[i] ^= 0x40;
            if (i is 11 or 12)
            {
                continue; // the length field: it changes the fragment's extent, so the record is malformed or truncated instead
            }
            Assert.False(Open(device, copy, 0, out _, out _), $"byte {i} changed and the record still opened");
        }
    }

    [Fact]
    public void Cbc_is_refused_without_encrypt_then_mac_and_key_blocks_must_fit_the_suite()
    {
        var block = new byte[DtlsRecordCipher.KeyBlockLength(CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256)];
        Assert.Throws<ArgumentException>(() => DtlsRecordCipher.Create(CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256, false, block));
        Assert.Throws<ArgumentException>(() => DtlsRecordCipher.Create(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, false, block));
        Assert.Equal(-1, DtlsRecordCipher.KeyBlockLength(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384));
    }

    [Fact]
    public void The_aead_nonce_is_the_epoch_and_sequence_number_so_distinct_numbers_never_share_one()
    {
        var (server, _) = Pair(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8);
        var first = new byte[128];
        var second = new byte[128];
        server.Seal(DtlsRecordHeader.ApplicationData, 1, 5, [], "same"u8, first);
        server.Seal(DtlsRecordHeader.ApplicationData, 1, 6, [], "same"u8, second);
        // explicit nonce right after the 13-byte header: epoch(2) ‖ sequence(6)
        Assert.Equal(new byte[] { 0, 1, 0, 0, 0, 0, 0, 5 }, first.AsSpan(13, 8).ToArray());
        Assert.Equal(new byte[] { 0, 1, 0, 0, 0, 0, 0, 6 }, second.AsSpan(13, 8).ToArray());
        Assert.False(first.AsSpan(21, 12).SequenceEqual(second.AsSpan(21, 12)));
    }

    private static bool Open(DtlsRecordCipher cipher, ReadOnlySpan<byte> datagram, int cidLength, out byte[] plaintext, out byte type)
    {
        plaintext = [];
        type = 0;
        if (!DtlsRecord.TryRead(datagram, cidLength, out var record, out _))
        {
            return false;
        }
        var buffer = new byte[datagram.Length];
        if (!cipher.TryOpen(record.OuterType, record.Epoch, record.Sequence, record.ConnectionId, record.Fragment, buffer, out var length, out type))
        {
            return false;
        }
        plaintext = buffer[..length];
        return true;
    }

    /// <summary>The server's cipher, and the client side of the same key block (the device's view).</summary>
    private static (DtlsRecordCipher Server, DtlsRecordCipher Device) Pair(int suite)
    {
        var block = RandomNumberGenerator.GetBytes(DtlsRecordCipher.KeyBlockLength(suite));
        var etm = suite == CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256;
        return (DtlsRecordCipher.Create(suite, etm, block), DtlsRecordCipher.Create(suite, etm, block, clientSide: true));
    }
}
