using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using NHub.Gateway.Security;
using NHub.Gateway.Transport;
using NHub.Gateway.Transport.Dtls;
using CredentialCache = NHub.Gateway.Security.CredentialCache;

namespace NHub.DtlsBench;

/// <summary>The gateway's <see cref="DtlsTransport"/> with an in-memory registry and an echoing receiver.</summary>
internal sealed class BenchServer : IAsyncDisposable
{
    public const string Key = "bench-psk-0123456789abcdef";

    private readonly BenchMeters _meters = new();

    public BenchServer(int port, int identities, int handshakeThreads, int receiveLoops)
    {
        var source = new Registry(identities);
        var options = new DtlsOptions
        {
            BindAddress = "127.0.0.1",
            Port = port,
            MaxPeers = 10_000_000,
            HandshakesPerSecondPerIp = 1_000_000,
            HandshakeBurstPerIp = 1_000_000,
            HandshakeQueueCapacity = 100_000,
            ReceiveLoops = receiveLoops,
        };
        if (handshakeThreads > 0)
        {
            options.HandshakeThreads = handshakeThreads;
        }
        Cache = new CredentialCache(source, new CredentialCacheOptions { MaxEntries = Math.Max(identities * 2, 1024) });
        Transport = new DtlsTransport(options, Cache, NullLogger<DtlsTransport>.Instance, _meters);
        Transport.Start(new EchoReceiver(Transport));
    }

    public DtlsTransport Transport { get; }

    public CredentialCache Cache { get; }

    public IPEndPoint EndPoint => (IPEndPoint)Transport.LocalEndPoint;

    public long Handshakes(string result) => _meters.Total(result);

    public string Counters() => _meters.Dump();

    public static string Identity(int i, int identities) => "bench-device-" + (i % identities).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync();
        _meters.Dispose();
    }

    private sealed class Registry(int identities) : IPskCredentialSource
    {
        private readonly byte[] _key = Encoding.ASCII.GetBytes(Key);

        public ValueTask<PskCredential?> FindAsync(string identity, CancellationToken ct)
        {
            // Every identity bench-device-0 .. N-1 exists with the same key.
            var known = identity.StartsWith("bench-device-", StringComparison.Ordinal)
                && int.TryParse(identity.AsSpan(13), System.Globalization.CultureInfo.InvariantCulture, out var i) && i < identities;
            return ValueTask.FromResult(known ? new PskCredential(identity, "device-" + identity, _key, PskCredentialStatus.Active) : null);
        }
    }

    /// <summary>Sends every datagram back as it came (the client only waits for an answer).</summary>
    private sealed class EchoReceiver(DtlsTransport transport) : IDatagramReceiver
    {
        public void OnDatagram(PeerInfo peer, ReadOnlySpan<byte> payload) => transport.TrySend(peer, payload);

        public void OnPeerClosed(PeerInfo peer)
        {
        }
    }

    /// <summary>Meters scoped to this server; totals nhub.dtls.handshakes by result.</summary>
    private sealed class BenchMeters : IMeterFactory
    {
        private readonly List<Meter> _meters = [];
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _results = new();

        public BenchMeters()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, this) && instrument.Name == "nhub.dtls.handshakes")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "result")
                    {
                        _results.AddOrUpdate((string)tag.Value!, value, (_, v) => v + value);
                    }
                }
            });
            _listener.Start();
        }

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            lock (_meters)
            {
                _meters.Add(meter);
            }
            return meter;
        }

        public long Total(string result) => _results.GetValueOrDefault(result);

        public string Dump() => string.Join(" ", _results.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"));

        public void Dispose()
        {
            _listener.Dispose();
            lock (_meters)
            {
                foreach (var meter in _meters)
                {
                    meter.Dispose();
                }
            }
        }
    }
}
