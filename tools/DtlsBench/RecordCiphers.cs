using System.Diagnostics;
using System.Security.Cryptography;
using NHub.Gateway.Transport.Dtls;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Tls;

namespace NHub.DtlsBench;

/// <summary>
/// CPU per sealed and per opened record (one thread, no sockets): the AEAD implementations a DTLS request can use, for
/// a CoAP message of --bytes (default 60, about a GET /.well-known/core or a small telemetry POST).
///   ciphers [--bytes B] [--count N]
/// </summary>
internal static class RecordCiphers
{
    public static int Run(Options options)
    {
        var bytes = options.Int("bytes", 60);
        var count = options.Int("count", 500_000);
        Console.WriteLine($"ciphers: {bytes}-byte content, {count} records each, AES-NI {(CcmCipher.IsHardwareAccelerated ? "yes" : "no")}, load {CpuClock.Uptime()}");
        var key = RandomNumberGenerator.GetBytes(16);
        var aad = RandomNumberGenerator.GetBytes(13);
        var nonce = new byte[12];
        var data = RandomNumberGenerator.GetBytes(bytes);
        var tag = new byte[8];

        var sealedData = new byte[bytes];
        var opened = new byte[bytes];
        foreach (var (hardware, name) in new[] { (true, "CCM_8, CcmCipher (AES-NI)"), (false, "CCM_8, .NET AesCcm (OpenSSL)") })
        {
            using var ccm = new CcmCipher(key, 8, hardware);
            Time(name, count, i => { Nonce(nonce, i); ccm.Encrypt(nonce, data, sealedData, tag, aad); },
                i =>
                {
                    Nonce(nonce, i);
                    ccm.Encrypt(nonce, data, sealedData, tag, aad);
                    if (!ccm.TryDecrypt(nonce, sealedData, tag, opened, aad))
                    {
                        throw new InvalidOperationException("a sealed record did not open");
                    }
                });
        }
        var bc = new CcmBlockCipher(new AesEngine());
        var output = new byte[bytes + 8];
        Time("CCM_8, BouncyCastle CcmBlockCipher", count, i =>
        {
            Nonce(nonce, i);
            bc.Init(true, new AeadParameters(new KeyParameter(key), 64, nonce, aad));
            bc.ProcessPacket(data, 0, data.Length, output, 0);
        }, null);
        foreach (var (suite, suiteName) in new[] { (CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, "CCM_8"), (CipherSuite.TLS_PSK_WITH_AES_128_GCM_SHA256, "GCM"), (CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256, "CBC-SHA256 (EtM)") })
        {
            var block = RandomNumberGenerator.GetBytes(DtlsRecordCipher.KeyBlockLength(suite));
            using var server = DtlsRecordCipher.Create(suite, encryptThenMac: true, block);
            using var client = DtlsRecordCipher.Create(suite, encryptThenMac: true, block, clientSide: true);
            var record = new byte[server.RecordLength(bytes, 0)];
            var plain = new byte[record.Length];
            Time($"DtlsRecordCipher record, PSK {suiteName}", count,
                i => server.Seal(DtlsRecordHeader.ApplicationData, 1, i, [], data, record),
                i =>
                {
                    server.Seal(DtlsRecordHeader.ApplicationData, 1, i, [], data, record);
                    DtlsRecord.TryRead(record, 0, out var r, out _);
                    if (!client.TryOpen(r.OuterType, r.Epoch, r.Sequence, r.ConnectionId, r.Fragment, plain, out _, out _))
                    {
                        throw new InvalidOperationException("a sealed record did not open");
                    }
                });
        }
        return 0;
    }

    private static void Nonce(byte[] nonce, long i) => System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(nonce.AsSpan(4), i);

    /// <summary><paramref name="sealThenOpen"/> seals and opens one record; its cost minus the seal's is the open's.</summary>
    private static void Time(string name, int count, Action<long> seal, Action<long>? sealThenOpen)
    {
        // Long enough for tiered compilation to reach its optimized code (the first implementation timed would pay for it).
        for (var i = 0; i < 200_000; i++)
        {
            seal(i);
            sealThenOpen?.Invoke(i);
        }
        var sealUs = Measure(seal, count);
        var line = $"  {name,-56} seal {sealUs:F3} µs";
        if (sealThenOpen is not null)
        {
            var openUs = Measure(sealThenOpen, count) - sealUs;
            line += $"  open {openUs:F3} µs";
        }
        Console.WriteLine(line);
    }

    private static double Measure(Action<long> action, int count)
    {
        var cpu = CpuClock.Process();
        for (var i = 0; i < count; i++)
        {
            action(i);
        }
        return (CpuClock.Process() - cpu).TotalMilliseconds * 1000 / count;
    }
}
