using System.Buffers.Binary;
using System.Text;
using NHub.Coap;

namespace NHub.DeviceSimulator.Flood;

/// <summary>
/// Malformed and hostile datagrams for the flood command, reproducible from a seed. CoAP (RFC 7252 §3): random
/// bytes, bit flips and truncations of valid requests, options with bogus deltas and lengths (the 13/14/15
/// extended nibbles), Block1 fragments (RFC 7959 §2.3) that start transfers nobody finishes, and well-formed
/// requests for random device ids and firmware versions (state a server must not keep). DTLS (RFC 6347 §4.1):
/// random bytes, records of every content type with random epochs, sequence numbers and lengths, ClientHellos
/// with garbage bodies, and RFC 9146 tls12_cid records with random connection ids.
/// </summary>
internal sealed class DatagramMutator(int seed)
{
    private readonly Random _random = new(seed);
    private readonly byte[][] _valid = BuildValidRequests();

    public byte[] NextCoap()
    {
        switch (_random.Next(7))
        {
            case 0:
                return RandomBytes(_random.Next(0, 1200));
            case 1:
                return FlipBits(_valid[_random.Next(_valid.Length)]);
            case 2:
                var source = _valid[_random.Next(_valid.Length)];
                return source[.._random.Next(1, source.Length)];
            case 3:
                return BogusOptions();
            case 4:
                return Block1Fragment();
            case 5:
                return Request(CoapCode.Post, "/telemetry", $"id=fuzz-{_random.Next():x8}", "{\"t\":1}"u8.ToArray());
            default:
                return Request(CoapCode.Get, $"/firmware/fuzz-{_random.Next():x8}", null, []);
        }
    }

    public byte[] NextDtls()
    {
        switch (_random.Next(4))
        {
            case 0:
                return RandomBytes(_random.Next(0, 1200));
            case 1:
                // content type 20-26 (change_cipher_spec .. beyond tls12_cid), DTLS 1.2/1.0 or junk version
                return Record((byte)_random.Next(20, 27), _random.Next(3) == 0 ? (ushort)_random.Next() : (ushort)0xFEFD, RandomBytes(_random.Next(0, 600)));
            case 2:
                // handshake record, ClientHello type with a garbage body (cookie exchange must reject it statelessly)
                var body = RandomBytes(_random.Next(12, 400));
                body[0] = 1;
                return Record(22, 0xFEFD, body, epoch: 0);
            default:
                // RFC 9146 §4: tls12_cid (25) with a 6-byte CID after the sequence number
                return CidRecord();
        }
    }

    private byte[] Record(byte type, ushort version, byte[] fragment, ushort? epoch = null)
    {
        var datagram = new byte[13 + fragment.Length];
        datagram[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(1), version);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(3), epoch ?? (ushort)_random.Next(0, 3));
        _random.NextBytes(datagram.AsSpan(5, 6));
        // mostly the true length, sometimes a lie
        var length = _random.Next(4) == 0 ? (ushort)_random.Next() : (ushort)fragment.Length;
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(11), length);
        fragment.CopyTo(datagram, 13);
        return datagram;
    }

    private byte[] CidRecord()
    {
        var fragment = RandomBytes(_random.Next(16, 200));
        var datagram = new byte[19 + fragment.Length];
        datagram[0] = 25;
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(1), 0xFEFD);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(3), 1);
        _random.NextBytes(datagram.AsSpan(5, 12)); // sequence number and CID
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(17), (ushort)fragment.Length);
        fragment.CopyTo(datagram, 19);
        return datagram;
    }

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }

    private byte[] FlipBits(byte[] valid)
    {
        var copy = (byte[])valid.Clone();
        for (var i = _random.Next(1, 9); i > 0; i--)
        {
            copy[_random.Next(copy.Length)] ^= (byte)(1 << _random.Next(8));
        }
        return copy;
    }

    /// <summary>A CON request header and token, then option bytes with random delta/length nibbles (13, 14, 15 included).</summary>
    private byte[] BogusOptions()
    {
        var options = RandomBytes(_random.Next(1, 64));
        for (var i = 0; i < options.Length; i += _random.Next(1, 6))
        {
            options[i] = (byte)((_random.Next(16) << 4) | _random.Next(16));
        }
        var datagram = new byte[6 + options.Length];
        datagram[0] = 0x42; // ver 1, CON, TKL 2
        datagram[1] = (byte)_random.Next(1, 5);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)_random.Next());
        _random.NextBytes(datagram.AsSpan(4, 2));
        options.CopyTo(datagram, 6);
        return datagram;
    }

    /// <summary>RFC 7959 §2.2: Block1 NUM/M/SZX random, so transfers start, skip and never finish.</summary>
    private byte[] Block1Fragment()
    {
        var request = NewRequest(CoapCode.Post);
        request.SetUriPath("/telemetry");
        request.AddOption(CoapOption.FromString(CoapOptionNumber.UriQuery, $"id=fuzz-{_random.Next(1000):x4}"));
        var szx = _random.Next(0, 7);
        request.Block1 = new BlockOption((uint)_random.Next(0, 64), _random.Next(4) != 0, szx);
        request.Payload = RandomBytes(1 << (szx + 4));
        return CoapSerializer.ToArray(request);
    }

    private byte[] Request(CoapCode code, string path, string? query, byte[] payload)
    {
        var request = NewRequest(code);
        request.SetUriPath(path);
        if (query is not null)
        {
            request.AddOption(CoapOption.FromString(CoapOptionNumber.UriQuery, query));
        }
        if (payload.Length > 0)
        {
            request.ContentFormat = ContentFormats.Json;
            request.Payload = payload;
        }
        return CoapSerializer.ToArray(request);
    }

    private CoapMessage NewRequest(CoapCode code)
    {
        var token = new byte[_random.Next(0, 9)];
        _random.NextBytes(token);
        return new CoapMessage
        {
            Type = _random.Next(2) == 0 ? CoapMessageType.Confirmable : CoapMessageType.NonConfirmable,
            Code = code,
            MessageId = (ushort)_random.Next(),
            Token = token,
        };
    }

    private static byte[][] BuildValidRequests()
    {
        var list = new List<byte[]>();
        byte[] token = [0x11, 0x22, 0x33, 0x44];
        void Add(CoapCode code, string path, string? query, int? format, byte[] payload, uint? observe = null)
        {
            var m = new CoapMessage { Type = CoapMessageType.Confirmable, Code = code, MessageId = 0x1234, Token = token };
            m.SetUriPath(path);
            if (query is not null)
            {
                m.AddOption(CoapOption.FromString(CoapOptionNumber.UriQuery, query));
            }
            if (observe is { } o)
            {
                m.Observe = o;
            }
            if (format is { } f)
            {
                m.ContentFormat = f;
            }
            m.Payload = payload;
            list.Add(CoapSerializer.ToArray(m));
        }
        Add(CoapCode.Post, "/telemetry", "id=fuzz-valid", ContentFormats.Json, Encoding.UTF8.GetBytes("{\"temperature\":23.5,\"humidity\":45.2}"));
        Add(CoapCode.Post, "/telemetry", "id=fuzz-valid", ContentFormats.Cbor, [0xA1, 0x61, 0x74, 0x01]);
        Add(CoapCode.Post, "/telemetry", "id=fuzz-valid", ContentFormats.OctetStream, [1, 2, 3, 4, 5, 6, 7, 8]);
        Add(CoapCode.Get, "/commands/fuzz-valid", null, null, [], observe: 0);
        Add(CoapCode.Get, "/firmware/1.0.0", "id=fuzz-valid", null, []);
        Add(CoapCode.Get, "/.well-known/core", null, null, []);
        return [.. list];
    }
}
