using System.Text;

namespace NHub.Coap.Tests.Codec;

/// <summary>
/// RFC 7252 Appendix A, encoded byte for byte. The hex is derived by hand from each figure's header fields:
/// byte 0 = Ver 1 (0b01) | T | TKL; byte 1 = code c.dd as c&lt;&lt;5 | dd; bytes 2–3 = MID; then token, options, 0xFF, payload.
/// </summary>
public sealed class Rfc7252ExampleTests
{
    private static readonly byte[] Temperature = Encoding.ASCII.GetBytes("temperature");

    private static byte[] Hex(string hex, params byte[][] tails)
    {
        var head = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        return [.. head, .. tails.SelectMany(t => t)];
    }

    private static void AssertWire(CoapMessage message, byte[] expected)
    {
        Assert.Equal(expected, CoapSerializer.ToArray(message));
        var parsed = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(expected, parsed));
        Assert.Equal(message.Type, parsed.Type);
        Assert.Equal(message.Code, parsed.Code);
        Assert.Equal(message.MessageId, parsed.MessageId);
        Assert.Equal(message.Token.ToArray(), parsed.Token.ToArray());
        Assert.Equal(message.Payload.ToArray(), parsed.Payload.ToArray());
    }

    private static CoapMessage Get(CoapMessageType type, ushort mid, params byte[] token) =>
        new CoapMessage { Type = type, Code = CoapCode.Get, MessageId = mid, Token = token }.SetUriPath("/temperature");

    private static CoapMessage Content(CoapMessageType type, ushort mid, string payload, params byte[] token) =>
        new() { Type = type, Code = CoapCode.Content, MessageId = mid, Token = token, Payload = Encoding.ASCII.GetBytes(payload) };

    [Fact]
    public void Figure_16_confirmable_request_with_piggybacked_response()
    {
        // GET (T=CON, Code=0.01, MID=0x7d34), Uri-Path "temperature": 40 01 7d34, option delta 11 / length 11 = 0xBB.
        AssertWire(Get(CoapMessageType.Confirmable, 0x7d34), Hex("40 01 7d 34 bb", Temperature));
        // 2.05 Content (T=ACK, Code=2.05, MID=0x7d34), Payload "22.3 C": 0x60 = ACK, 0x45 = 2<<5 | 5.
        AssertWire(Content(CoapMessageType.Acknowledgement, 0x7d34, "22.3 C"), Hex("60 45 7d 34 ff", "22.3 C"u8.ToArray()));
    }

    [Fact]
    public void Figure_20_confirmable_request_with_separate_response()
    {
        // GET (T=CON, MID=0x7d38) Token 0x53: TKL 1 → 0x41.
        AssertWire(Get(CoapMessageType.Confirmable, 0x7d38, 0x53), Hex("41 01 7d 38 53 bb", Temperature));
        // Empty ACK (T=ACK, Code=0.00, MID=0x7d38): exactly four bytes.
        AssertWire(new CoapMessage { Type = CoapMessageType.Acknowledgement, MessageId = 0x7d38 }, Hex("60 00 7d 38"));
        // 2.05 Content (T=CON, MID=0xad7b) Token 0x53 "22.3 C".
        AssertWire(Content(CoapMessageType.Confirmable, 0xad7b, "22.3 C", 0x53), Hex("41 45 ad 7b 53 ff", "22.3 C"u8.ToArray()));
        // The client's empty ACK (T=ACK, MID=0xad7b).
        AssertWire(new CoapMessage { Type = CoapMessageType.Acknowledgement, MessageId = 0xad7b }, Hex("60 00 ad 7b"));
    }

    [Fact]
    public void Figure_21_unexpected_separate_response_is_reset()
    {
        // The client crashed and lost its state: it rejects the CON response with RST (T=RST, MID=0xad7c): 0x70 = Ver 1, T 3.
        AssertWire(new CoapMessage { Type = CoapMessageType.Reset, MessageId = 0xad7c }, Hex("70 00 ad 7c"));
        AssertWire(Content(CoapMessageType.Confirmable, 0xad7c, "22.3 C", 0x64), Hex("41 45 ad 7c 64 ff", "22.3 C"u8.ToArray()));
    }

    [Fact]
    public void Figure_22_non_confirmable_request_and_response()
    {
        // GET (T=NON, MID=0x7d40) Token 0x75: 0x51 = Ver 1, T 1, TKL 1.
        AssertWire(Get(CoapMessageType.NonConfirmable, 0x7d40, 0x75), Hex("51 01 7d 40 75 bb", Temperature));
        AssertWire(Content(CoapMessageType.NonConfirmable, 0xad7d, "22.3 C", 0x75), Hex("51 45 ad 7d 75 ff", "22.3 C"u8.ToArray()));
    }

    [Fact]
    public void A_request_with_host_port_path_and_query_writes_each_option_as_a_delta()
    {
        // §6.4 decomposition of coap://example.net:5684/a/b?x=1: Uri-Host (3), Uri-Port (7), Uri-Path (11) ×2, Uri-Query (15).
        var m = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Get, MessageId = 1, UriHost = "example.net", UriPort = 5684 };
        m.SetUriPath("/a/b").AddQuery("x=1");
        var expected = Hex(
            "40 01 00 01" +
            "3b", "example.net"u8.ToArray(),    // delta 3, length 11
            Hex("42 16 34"),                      // delta 4 (7), length 2: 5684 = 0x1634
            Hex("41"), "a"u8.ToArray(),           // delta 4 (11), length 1
            Hex("01"), "b"u8.ToArray(),           // delta 0 (11 repeated)
            Hex("43"), "x=1"u8.ToArray());        // delta 4 (15), length 3
        AssertWire(m, expected);
    }
}
