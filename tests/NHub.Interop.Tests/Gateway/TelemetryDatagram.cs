using System.Text;
using NHub.Coap;

namespace NHub.Interop.Tests.Gateway;

/// <summary>A device's requests as raw CoAP, for clients that take datagrams (the BouncyCastle DTLS client).</summary>
public static class TelemetryDatagram
{
    /// <summary>CON POST /telemetry with a JSON payload (Content-Format 50).</summary>
    public static byte[] Post(ushort messageId, byte[] token, string json)
    {
        var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = messageId, Token = token };
        request.SetUriPath("/telemetry");
        request.ContentFormat = ContentFormats.Json;
        request.Payload = Encoding.UTF8.GetBytes(json);
        return CoapSerializer.ToArray(request);
    }

    /// <summary>CON GET of <paramref name="path"/> (segments as given: no escaping, the option bytes are the string's UTF-8).</summary>
    public static byte[] Get(ushort messageId, byte[] token, string path)
    {
        var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Get, MessageId = messageId, Token = token };
        request.SetUriPath(path);
        return CoapSerializer.ToArray(request);
    }

    /// <summary>The response code of a datagram the gateway answered with (the test fails if it is not CoAP).</summary>
    public static CoapCode CodeOf(byte[] datagram)
    {
        var response = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(datagram, response));
        return response.Code;
    }
}
