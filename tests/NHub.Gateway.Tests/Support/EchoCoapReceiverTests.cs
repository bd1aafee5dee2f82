using System.Net;
using System.Text;
using NHub.Gateway.Transport;

namespace NHub.Gateway.Tests.Support;

/// <summary>
/// The echo receiver stands in for the CoAP stack in the transport tests, so it must read a request as a real client
/// writes it: libcoap picks random tokens, and one with a 0xFF byte once made the echo answer "ok:" + the token's tail
/// and the options instead of the payload.
/// </summary>
public sealed class EchoCoapReceiverTests
{
    [Theory]
    [InlineData(new byte[] { 0x44, 0x02, 0x12, 0x34, 0x01, 0xFF, 0x44, 0x9A, 0xB4, (byte)'t', (byte)'e', (byte)'s', (byte)'t', 0xFF, (byte)'h', (byte)'i' }, "ok:hi")]
    [InlineData(new byte[] { 0x41, 0x02, 0x00, 0x01, 0xFF, 0xBD, 0x01, (byte)'a', (byte)'b', (byte)'c', (byte)'d', (byte)'e', (byte)'f', (byte)'g', (byte)'h', (byte)'i', (byte)'j', (byte)'k', (byte)'l', (byte)'m', (byte)'n', 0xFF, (byte)'x' }, "ok:x")]
    [InlineData(new byte[] { 0x40, 0x01, 0x00, 0x02, 0xB4, (byte)'t', (byte)'e', (byte)'s', (byte)'t' }, "ok:")]
    public void Echoes_the_payload_after_the_options_even_when_the_token_holds_0xFF(byte[] request, string expected)
    {
        var transport = new CapturingTransport();
        var receiver = new EchoCoapReceiver { Transport = transport };

        receiver.OnDatagram(new PeerInfo(new IPEndPoint(IPAddress.Loopback, 5684), TransportKind.Dtls, "id", 1), request);

        var answer = Assert.Single(transport.Sent);
        var tokenLength = request[0] & 0x0F;
        Assert.Equal(request.AsSpan(4, tokenLength).ToArray(), answer.AsSpan(4, tokenLength).ToArray());
        Assert.Equal(expected, Encoding.ASCII.GetString(answer, 4 + tokenLength + 1, answer.Length - 4 - tokenLength - 1));
    }

    private sealed class CapturingTransport : IDatagramTransport
    {
        public List<byte[]> Sent { get; } = [];

        public TransportKind Kind => TransportKind.Dtls;

        public EndPoint LocalEndPoint => new IPEndPoint(IPAddress.Loopback, 0);

        public void Start(IDatagramReceiver receiver)
        {
        }

        public bool TrySend(PeerInfo peer, ReadOnlySpan<byte> datagram)
        {
            Sent.Add(datagram.ToArray());
            return true;
        }

        public ValueTask StopAsync() => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
