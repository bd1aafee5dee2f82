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

    /// <summary>The CID the client asked us to put in our records (SecurityParameters.ConnectionIDLocal); empty when none.</summary>
    public byte[] SendConnectionId { get; private set; } = [];

    /// <summary>
    /// The session's key block (RFC 5246 §6.3), derived when the handshake completed: from here on the records are
    /// protected by <see cref="DtlsRecordCipher"/>, which anyone holding these bytes can rebuild. A secret.
    /// </summary>
    public byte[]? KeyBlock { get; private set; }

    /// <summary>RFC 7366 encrypt-then-MAC was negotiated (only ever for CBC).</summary>
    public bool EncryptThenMac { get; private set; }

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
        SendConnectionId = parameters.ConnectionIDLocal ?? [];
        EncryptThenMac = parameters.IsEncryptThenMac;
        // RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random).
        var seed = new byte[parameters.ServerRandom.Length + parameters.ClientRandom.Length];
        parameters.ServerRandom.CopyTo(seed, 0);
        parameters.ClientRandom.CopyTo(seed, parameters.ServerRandom.Length);
        var length = DtlsRecordCipher.KeyBlockLength(parameters.CipherSuite);
        KeyBlock = parameters.MasterSecret.DeriveUsingPrf(parameters.PrfAlgorithm, ExporterLabel.key_expansion, seed, length).Extract();
    }

    /// <summary>
    /// CBC only with encrypt-then-MAC (RFC 7366): MAC-then-encrypt CBC is the Lucky Thirteen construction, and the
    /// gateway's own record layer (<see cref="DtlsRecordCipher"/>) does not implement it. A client offering CBC without
    /// the extension gets one of the AEAD suites, or handshake_failure when it offers nothing else.
    /// </summary>
    protected override bool IsSelectableCipherSuite(int cipherSuite, int availCurveBits, int availFiniteFieldBits, IList<short> sigAlgs) =>
        (cipherSuite != CipherSuite.TLS_PSK_WITH_AES_128_CBC_SHA256 || m_encryptThenMACOffered)
        && base.IsSelectableCipherSuite(cipherSuite, availCurveBits, availFiniteFieldBits, sigAlgs);

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
