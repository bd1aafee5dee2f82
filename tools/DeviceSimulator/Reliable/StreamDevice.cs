using System.Net;
using System.Net.Sockets;
using NHub.Coap;
using NHub.DeviceSimulator.Api;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.DeviceSimulator.Reliable;

/// <summary>
/// One device on a reliable transport (RFC 8323): a TCP connection, with a TLS 1.2 PSK session on it for
/// <c>coaps+tcp</c> (BouncyCastle's blocking client), the CSM exchange first, then one request at a time. Blocking
/// I/O on the device's own thread: a load generator with a few dozen connections, not thousands.
/// </summary>
internal sealed class StreamDevice : IDisposable
{
    private static readonly BcTlsCrypto SharedCrypto = new NHub.Gateway.Transport.Dtls.DotNetEcTlsCrypto();
    private readonly Socket _socket;
    private Stream _stream = null!;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _buffered;
    private uint _token = (uint)Random.Shared.Next();

    public StreamDevice(DeviceCredential credential)
    {
        Credential = credential;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    }

    public DeviceCredential Credential { get; }

    /// <summary>Connects, runs the TLS handshake when <paramref name="suites"/> is given, and exchanges CSMs (RFC 8323 §5.3).</summary>
    public void Connect(IPEndPoint server, int[]? suites, TimeSpan timeout)
    {
        _socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        _socket.SendTimeout = (int)timeout.TotalMilliseconds;
        _socket.Connect(server);
        Stream stream = new NetworkStream(_socket, ownsSocket: false);
        if (suites is not null)
        {
            var protocol = new TlsClientProtocol(stream);
            protocol.Connect(new Client(Credential.PskIdentity ?? throw new InvalidOperationException($"device {Credential.DeviceId} has no PSK identity"),
                Credential.KeyBytes(), suites));
            stream = protocol.Stream;
        }
        _stream = stream;
        Write(CoapSignaling.Csm(65_535, blockWiseTransfer: false));
        var csm = ReadDatagram();
        if (csm is null || CoapFraming.CodeOf(Frame(csm), CoapFramingKind.Tcp) != CoapSignalCode.Csm)
        {
            throw new IOException("the server's first message is not a CSM");
        }
    }

    /// <summary>Sends <paramref name="request"/> (filled in by the caller, token set here) and waits for its response's code; null when the connection ended.</summary>
    public CoapCode? Request(CoapMessage request)
    {
        var token = _token++;
        request.Token = new byte[] { (byte)(token >> 24), (byte)(token >> 16), (byte)(token >> 8), (byte)token };
        Write(CoapSerializer.ToArray(request));
        while (ReadDatagram() is { } datagram)
        {
            var code = new CoapCode(datagram[1]);
            if (code.IsResponse && (datagram[0] & 0x0F) == 4 && datagram.AsSpan(4, 4).SequenceEqual(request.Token.Span))
            {
                return code;
            }
        }
        return null;
    }

    private void Write(byte[] datagram)
    {
        _stream.Write(Frame(datagram));
        _stream.Flush();
    }

    private static byte[] Frame(byte[] datagram)
    {
        var frame = new byte[CoapFraming.FrameLength(datagram, CoapFramingKind.Tcp)];
        CoapFraming.TryFromDatagram(datagram, CoapFramingKind.Tcp, frame, out _);
        return frame;
    }

    /// <summary>The next message, as an RFC 7252 datagram; null when the server closed the connection.</summary>
    private byte[]? ReadDatagram()
    {
        while (true)
        {
            var status = CoapFraming.TryReadFrame(_buffer.AsSpan(0, _buffered), _buffer.Length, out var length);
            if (status == FrameStatus.Complete)
            {
                var frame = _buffer.AsSpan(0, length);
                var datagram = new byte[CoapFraming.DatagramLength(frame, CoapFramingKind.Tcp)];
                CoapFraming.TryToDatagram(frame, CoapFramingKind.Tcp, CoapMessageType.NonConfirmable, 0, datagram, out _);
                _buffer.AsSpan(length, _buffered - length).CopyTo(_buffer);
                _buffered -= length;
                return datagram;
            }
            if (status != FrameStatus.NeedMore)
            {
                throw new IOException("malformed frame from the server: " + status);
            }
            var read = _stream.Read(_buffer, _buffered, _buffer.Length - _buffered);
            if (read <= 0)
            {
                return null;
            }
            _buffered += read;
        }
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _socket.Dispose();
    }

    private sealed class Client(string identity, byte[] key, int[] suites) : PskTlsClient(SharedCrypto, new BasicTlsPskIdentity(identity, key))
    {
        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.TLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => suites;

        protected override IList<ProtocolName> GetProtocolNames() => [ProtocolName.AsUtf8Encoding("coap")];
    }
}
