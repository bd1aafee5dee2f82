using System.Net.WebSockets;
using NHub.Coap;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// A minimal CoAP-over-WebSockets client (RFC 8323 §4) for what aiocoap's command line cannot do: send HTTP
/// credentials with the upgrade. .NET's ClientWebSocket and this library's framing; CSM first, one request at a time.
/// </summary>
public sealed class CoapWebSocketClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();

    private CoapWebSocketClient()
    {
    }

    /// <summary>The server's CSM (the first message it sent).</summary>
    public CoapSignal ServerCsm { get; private set; }

    /// <summary>Connects to <c>ws://…/.well-known/coap</c>; <paramref name="authorization"/> is the Authorization header's value, if any.</summary>
    public static async Task<CoapWebSocketClient> ConnectAsync(Uri uri, string? authorization, bool offerCoapSubprotocol = true,
        System.Security.Cryptography.X509Certificates.X509Certificate2? trustedRoot = null)
    {
        var client = new CoapWebSocketClient();
        if (trustedRoot is not null)
        {
            // wss:// to a server whose chain ends at the test's root (not in the system store).
            client._socket.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
                chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(trustedRoot);
                chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
                return certificate is System.Security.Cryptography.X509Certificates.X509Certificate2 leaf && chain.Build(leaf);
            };
        }
        if (offerCoapSubprotocol)
        {
            client._socket.Options.AddSubProtocol("coap");
        }
        if (authorization is not null)
        {
            client._socket.Options.SetRequestHeader("Authorization", authorization);
        }
        client._socket.Options.CollectHttpResponseDetails = true;
        await client._socket.ConnectAsync(uri, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        await client.SendAsync(CoapSignaling.Csm(1152, blockWiseTransfer: false));
        var csm = await client.ReceiveDatagramAsync() ?? throw new InvalidOperationException("no CSM from the server");
        if (CoapSignaling.TryParse(csm, out var signal) != CoapParseError.None)
        {
            throw new InvalidOperationException("the server's first message is not a signal");
        }
        client.ServerCsm = signal;
        return client;
    }

    /// <summary>The status of a refused upgrade (ConnectAsync throws; this is what the server answered).</summary>
    public static async Task<System.Net.HttpStatusCode> RefusedStatusAsync(Uri uri, string? authorization, bool offerCoapSubprotocol = true)
    {
        using var socket = new ClientWebSocket();
        if (offerCoapSubprotocol)
        {
            socket.Options.AddSubProtocol("coap");
        }
        if (authorization is not null)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        return socket.HttpStatusCode;
    }

    /// <summary>Sends <paramref name="request"/> (an RFC 7252 datagram) and returns the response, or null when the connection closed first.</summary>
    public async Task<CoapMessage?> RequestAsync(byte[] request)
    {
        await SendAsync(request);
        while (await ReceiveDatagramAsync() is { } datagram)
        {
            var message = new CoapMessage();
            if (CoapParser.TryParse(datagram, message) == CoapParseError.None && message.Code.IsResponse)
            {
                return message;
            }
        }
        return null;
    }

    /// <summary>The next message as an RFC 7252 datagram, or null when the server closed the connection.</summary>
    public async Task<byte[]?> ReceiveDatagramAsync(TimeSpan? timeout = null)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            try
            {
                result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).AsTask().WaitAsync(timeout ?? TimeSpan.FromSeconds(20));
            }
            catch (WebSocketException)
            {
                return null;
            }
            length += result.Count;
        }
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
        if (result.MessageType == WebSocketMessageType.Close)
        {
            return null;
        }
        var frame = buffer.AsSpan(0, length);
        var datagram = new byte[CoapFraming.DatagramLength(frame, CoapFramingKind.WebSocket)];
        Assert.True(CoapFraming.TryToDatagram(frame, CoapFramingKind.WebSocket, CoapMessageType.NonConfirmable, 0, datagram, out _));
        return datagram;
    }

    private async Task SendAsync(byte[] datagram)
    {
        var frame = new byte[CoapFraming.FrameLength(datagram, CoapFramingKind.WebSocket)];
        CoapFraming.TryFromDatagram(datagram, CoapFramingKind.WebSocket, frame, out _);
        await _socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is WebSocketException or TimeoutException)
            {
                // the server went first
            }
        }
        _socket.Dispose();
    }
}
