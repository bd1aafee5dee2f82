using System.Text;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// BouncyCastle's PSK server peer for one handshake, with the defaults a device gateway needs
/// (see shared/notes/dtls-bouncycastle.md): DTLS 1.2 only, the configured PSK suites in the server's order, no
/// (EC)DHE, a bounded handshake, no failure when a small stack omits the renegotiation extension, and corrupt
/// records dropped instead of killing the session.
/// </summary>
internal sealed class PskDtlsServer : PskTlsServer
{
    private readonly int[] _cipherSuites;
    private readonly int _handshakeTimeoutMillis;
    private readonly ConnectionIdIssuer _connectionIds;

    public PskDtlsServer(TlsCrypto crypto, CachedPskIdentityManager identities, int[] cipherSuites, int handshakeTimeoutMillis, ConnectionIdIssuer connectionIds)
        : base(crypto, identities)
    {
        _cipherSuites = cipherSuites;
        _handshakeTimeoutMillis = handshakeTimeoutMillis;
        _connectionIds = connectionIds;
        Identities = identities;
    }

    public CachedPskIdentityManager Identities { get; }

    /// <summary>SecurityParameters.PskIdentity, read when the handshake completed (the authenticated identity).</summary>
    public string? AuthenticatedIdentity { get; private set; }

    public int NegotiatedCipherSuite { get; private set; } = -1;

    /// <summary>The session's name outside this process (<see cref="DtlsSessionKey"/>), set when the handshake completed.</summary>
    public string? SessionKey { get; private set; }

    /// <summary>
    /// The CID the client puts in the records it sends us (RFC 9146 §3), null when none was negotiated. BouncyCastle
    /// names it SecurityParameters.ConnectionIDPeer (the CID in the peer's records); ConnectionIDLocal is the one we
    /// write, the client's own choice, often empty.
    /// </summary>
    public byte[]? ReceiveConnectionId { get; private set; }

    /// <summary>
    /// RFC 9146 §3: asked only when the ClientHello carries connection_id, even an empty one (a client that will not
    /// receive a CID can still send ours). Null (CIDs off, or this start's supply used up) answers without the extension.
    /// </summary>
    protected override byte[]? GetNewConnectionID() => _connectionIds.Next();

    /// <summary>The last alert this side raised, or the peer sent (for the failure log).</summary>
    public string? LastAlert { get; private set; }

    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, _cipherSuites);

    public override int GetHandshakeTimeoutMillis() => _handshakeTimeoutMillis;

    public override bool IgnoreCorruptDtlsRecords => true;

    /// <summary>
    /// RFC 5746 secure renegotiation protects renegotiation, which this server never does; tinydtls and
    /// node-dtls-client omit the extension, and BouncyCastle's default refuses them with handshake_failure.
    /// </summary>
    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        var parameters = m_context.SecurityParameters;
        var identity = parameters.PskIdentity;
        AuthenticatedIdentity = identity is null ? null : Encoding.UTF8.GetString(identity);
        NegotiatedCipherSuite = parameters.CipherSuite;
        SessionKey = DtlsSessionKey.From(parameters.ClientRandom, parameters.ServerRandom);
        ReceiveConnectionId = parameters.ConnectionIDPeer is { Length: > 0 } cid ? cid : null;
    }

    /// <summary>
    /// After the handshake: forget what only the handshake needed. The session's record layer keeps this object
    /// (for alert callbacks) for the session's whole life, and with it the client's and our extension tables, the
    /// offered suites and the parsed status_request: ~1 KB per session that a 100k-session gateway does not need.
    /// </summary>
    public void ReleaseHandshakeState()
    {
        m_clientExtensions = null;
        m_serverExtensions.Clear();
        if (m_serverExtensions is Dictionary<int, byte[]> extensions)
        {
            extensions.TrimExcess();
        }
        m_offeredCipherSuites = null;
        m_certificateStatusRequest = null;
        m_statusRequestV2 = null;
        m_trustedCAKeys = null;
        m_clientProtocolNames = null;
    }

    public override void NotifyAlertRaised(short alertLevel, short alertDescription, string message, Exception cause)
    {
        LastAlert = $"sent {AlertLevel.GetText(alertLevel)} {AlertDescription.GetText(alertDescription)}";
    }

    public override void NotifyAlertReceived(short alertLevel, short alertDescription)
    {
        LastAlert = $"received {AlertLevel.GetText(alertLevel)} {AlertDescription.GetText(alertDescription)}";
    }

    protected override bool PreferLocalCipherSuites() => true;
}
