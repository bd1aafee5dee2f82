using System.Diagnostics.Metrics;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>DTLS counters on the platform's "NHub" meter, beside the datagram counters every transport has.</summary>
internal sealed class DtlsMetrics
{
    private readonly Counter<long> _handshakes;
    private readonly UpDownCounter<long> _sessions;
    private readonly UpDownCounter<long> _connectionIdSessions;
    private readonly Counter<long> _addressChanges;
    private readonly Counter<long> _recordsDropped;
    private readonly Counter<long> _helloVerifySent;
    private readonly Counter<long> _previousSecretCookies;
    private readonly Counter<long> _takeovers;
    private readonly Counter<long> _stored;
    private readonly Counter<long> _storeFailures;
    private readonly Counter<long> _recordsWithoutData;

    public DtlsMetrics(IMeterFactory meterFactory)
    {
        Datagrams = new TransportMetrics(meterFactory, "dtls");
        var meter = meterFactory.Create("NHub");
        _handshakes = meter.CreateCounter<long>("nhub.dtls.handshakes", "{handshake}", "DTLS handshakes by result (success, or why not)");
        _sessions = meter.CreateUpDownCounter<long>("nhub.dtls.sessions", "{session}", "Established DTLS sessions");
        _connectionIdSessions = meter.CreateUpDownCounter<long>("nhub.dtls.sessions.connection_id", "{session}", "Established DTLS sessions with an RFC 9146 Connection ID (the rest of nhub.dtls.sessions have none)");
        _addressChanges = meter.CreateCounter<long>("nhub.dtls.address_changes", "{change}", "DTLS sessions moved to a new peer address by an authenticated, newest Connection ID record (RFC 9146 §6)");
        _recordsDropped = meter.CreateCounter<long>("nhub.dtls.records.dropped", "{record}", "DTLS records dropped before or by the record layer, by reason");
        _helloVerifySent = meter.CreateCounter<long>("nhub.dtls.hello_verify.sent", "{message}", "HelloVerifyRequests sent (stateless cookie exchange)");
        _recordsWithoutData = meter.CreateCounter<long>("nhub.dtls.records.without_data", "{record}", "Records of established sessions that carried no application data: the client's retransmitted last handshake flight (answered with ours, at most once a second), alerts, heartbeats");
        _takeovers = meter.CreateCounter<long>("nhub.dtls.takeovers", "{takeover}", "Records with a CID this gateway did not hold, looked up in the session store, by result (taken_over, unknown, auth_failed, stale, already_here, full, error)");
        _stored = meter.CreateCounter<long>("nhub.dtls.sessions.stored", "{session}", "Sessions written to the session store after their handshake, by result (stored, or refused: local only)");
        _storeFailures = meter.CreateCounter<long>("nhub.dtls.store.failures", "{call}", "Session store calls that failed, by operation (store, extend, remove)");
        _previousSecretCookies = meter.CreateCounter<long>("nhub.dtls.cookies.previous_secret", "{cookie}", "ClientHello cookies accepted with the previous (rotated-out) cookie secret");
    }

    /// <summary>nhub.transport.datagrams.* with transport=dtls (socket-level received/sent/dropped).</summary>
    public TransportMetrics Datagrams { get; }

    public void Handshake(string result) => _handshakes.Add(1, new KeyValuePair<string, object?>("result", result));

    /// <summary>
    /// A completed handshake, tagged with whether it negotiated a Connection ID (RFC 9146), how the device
    /// authenticated (<c>auth</c>: psk, x509, rpk) and whether it resumed a session (RFC 5246 §7.3).
    /// </summary>
    public void HandshakeSucceeded(bool connectionId, string auth, bool resumed) => _handshakes.Add(1,
        new KeyValuePair<string, object?>("result", "success"), new KeyValuePair<string, object?>("connection_id", connectionId ? "true" : "false"),
        new KeyValuePair<string, object?>("auth", auth), new KeyValuePair<string, object?>("resumed", resumed ? "true" : "false"));

    public void SessionOpened(bool connectionId)
    {
        _sessions.Add(1);
        if (connectionId)
        {
            _connectionIdSessions.Add(1);
        }
    }

    public void SessionClosed(bool connectionId)
    {
        _sessions.Add(-1);
        if (connectionId)
        {
            _connectionIdSessions.Add(-1);
        }
    }

    public void AddressChanged() => _addressChanges.Add(1);

    public void RecordDropped(string reason) => _recordsDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void HelloVerifySent() => _helloVerifySent.Add(1);

    public void RecordWithoutData() => _recordsWithoutData.Add(1);

    public void Takeover(string result) => _takeovers.Add(1, new KeyValuePair<string, object?>("result", result));

    public void SessionStored(bool stored) => _stored.Add(1, new KeyValuePair<string, object?>("result", stored ? "stored" : "refused"));

    public void StoreFailed(string operation) => _storeFailures.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void CookieFromPreviousSecret() => _previousSecretCookies.Add(1);

    public void DatagramDropped(string reason) => Datagrams.Dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
