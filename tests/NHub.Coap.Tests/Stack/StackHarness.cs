using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>A CoAP server driven message by message: datagrams in, datagrams out, time by hand. No sockets.</summary>
internal sealed class StackHarness
{
    private readonly Channel<(string Peer, byte[] Bytes)> _sent = Channel.CreateUnbounded<(string, byte[])>();

    public StackHarness(Action<CoapServerOptions>? configure = null, CoapExchangeTracing? tracing = null, Func<string, string>? requestLimitKey = null)
    {
        configure?.Invoke(Options);
        Server = new CoapServer<string>(Options, Router, (peer, bytes) => _sent.Writer.TryWrite((peer, bytes.ToArray())), Time, describePeer: p => p, tracing: tracing,
            requestLimitKey: requestLimitKey);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
    public CoapServerOptions Options { get; } = new();
    public CoapRouter<string> Router { get; } = new();
    public CoapServer<string> Server { get; }

    public void Receive(string peer, CoapMessage message) => Server.OnDatagram(peer, CoapSerializer.ToArray(message));

    public void ReceiveRaw(string peer, byte[] bytes) => Server.OnDatagram(peer, bytes);

    /// <summary>The next datagram the server sent (waits for asynchronous handlers, bounded).</summary>
    public async Task<CoapMessage> NextAsync(string? expectedPeer = "client")
    {
        var (peer, bytes) = await _sent.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        if (expectedPeer is not null)
        {
            Assert.Equal(expectedPeer, peer);
        }
        var m = new CoapMessage();
        Assert.Equal(CoapParseError.None, CoapParser.TryParse(bytes, m));
        return m;
    }

    public byte[]? TryNextRaw() => _sent.Reader.TryRead(out var item) ? item.Bytes : null;

    public bool NothingSent => !_sent.Reader.TryPeek(out _);

    public static CoapMessage Con(CoapCode code, string path, ushort mid, byte[]? token = null) =>
        new CoapMessage { Type = CoapMessageType.Confirmable, Code = code, MessageId = mid, Token = token ?? [0xA1, 0xB2] }.SetUriPath(path);

    public static CoapMessage Empty(CoapMessageType type, ushort mid) => new() { Type = type, Code = CoapCode.Empty, MessageId = mid };
}
