using System.Text;
using NHub.Gateway.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace NHub.Gateway.Transport.Dtls;

/// <summary>
/// BouncyCastle's server peer for one device handshake, with the defaults a device gateway needs
/// (see shared/notes/dtls-bouncycastle.md): DTLS 1.2 only, the configured suites in the server's order, a bounded
/// handshake, no failure when a small stack omits the renegotiation extension, and corrupt records dropped instead of
/// killing the session. Two ways to authenticate, by the suite the client offers:
/// <list type="bullet">
/// <item>PSK (RFC 4279, RFC 7252 §9.1.3.1): the key comes from <see cref="CachedPskIdentityManager"/>.</item>
/// <item>ECDHE-ECDSA (RFC 7252 §9.1.3.2-3): the gateway signs with <see cref="ServerCertificate"/> (an X.509 chain,
/// or a raw public key when the client asks for one, RFC 7250), asks for the client's certificate, and
/// <see cref="DeviceCertificateAuthenticator"/> decides whose it is. BouncyCastle verifies the client's signature
/// (CertificateVerify) but not its chain: that is ours. Offered only when both are given.</item>
/// </list>
/// </summary>
internal sealed class DeviceDtlsServer : PskTlsServer
{
    private readonly int[] _cipherSuites;
    private readonly int _handshakeTimeoutMillis;
    private readonly ConnectionIdIssuer? _connectionIds;
    private readonly bool _stream;
    private readonly ServerCertificate? _certificate;
    private readonly DeviceCertificateAuthenticator? _certificates;
    private readonly CancellationToken _stopping;
    private readonly ResumptionCache? _resumption;
    private TlsCredentialedSigner? _signer;

    /// <remarks>
    /// With <c>stream</c>: TLS 1.2 over TCP (RFC 8323 §4.3, <c>coaps+tcp</c>) instead of DTLS 1.2, with the same
    /// suites and the same authentication, no Connection ID, and the ALPN protocol "coap" (RFC 8323 §8.2) when the
    /// client offers ALPN.
    /// </remarks>
    public DeviceDtlsServer(TlsCrypto crypto, CachedPskIdentityManager identities, int[] cipherSuites, int handshakeTimeoutMillis, ConnectionIdIssuer? connectionIds,
        ServerCertificate? certificate, DeviceCertificateAuthenticator? certificates, ResumptionCache? resumption, CancellationToken stopping, bool stream = false)
        : base(crypto, identities)
    {
        _stream = stream;
        var withCertificates = certificate is not null && certificates is not null;
        _cipherSuites = withCertificates ? cipherSuites : [.. cipherSuites.Where(s => !DtlsCipherSuites.IsCertificateSuite(s))];
        _handshakeTimeoutMillis = handshakeTimeoutMillis;
        _connectionIds = connectionIds;
        _certificate = certificate;
        _certificates = certificates;
        _stopping = stopping;
        Identities = identities;
        _resumption = withCertificates ? resumption : null;
    }

    /// <summary>The handshake resumed a session of <see cref="ResumptionCache"/> (set when it completed).</summary>
    public bool Resumed { get; private set; }

    /// <summary>
    /// RFC 5246 §7.4.1.3: a session id for every full handshake while resumption is on (the suite is not chosen yet
    /// when BouncyCastle asks; only certificate sessions are kept, so a PSK client offering its id later just gets a
    /// full handshake).
    /// </summary>
    public override byte[]? GetNewSessionID() => _resumption is null ? null : System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// RFC 5246 §7.3: the client offers a session id to resume. Found, and its certificate still authenticates the
    /// device (not expired, its authority still registered, not revoked: the checks of a full handshake, without the
    /// signatures): resumed. Otherwise a full handshake, which refuses the certificate with its own alert if need be.
    /// </summary>
    public override TlsSession? GetSessionToResume(byte[] sessionID)
    {
        if (_resumption?.Find(sessionID) is not { } entry)
        {
            return null;
        }
        _offeredSession = sessionID;
        // RFC 5246 §7.4.1.3: a resumption keeps the session's suite, which the client must offer again and we must
        // still speak. BouncyCastle 2.7 does not check (it picks from the new ClientHello): we do, and pin it below.
        var suite = entry.Session.ExportSessionParameters()?.CipherSuite ?? -1;
        if (Array.IndexOf(m_offeredCipherSuites ?? [], suite) < 0 || Array.IndexOf(_cipherSuites, suite) < 0)
        {
            return null;
        }
        var result = Authenticate(entry.PeerCertificate);
        if (!result.Succeeded)
        {
            _resumption.Remove(sessionID);
            return null;
        }
        _resumedSuite = suite;
        _authentication = result;
        return entry.Session;
    }

    /// <summary>A resumption's suite is the session's (RFC 5246 §7.4.1.3); a full handshake chooses as usual.</summary>
    public override int GetSelectedCipherSuite() =>
        m_context.SecurityParameters.IsResumedSession && _resumedSuite >= 0 ? _resumedSuite : base.GetSelectedCipherSuite();

    /// <summary>
    /// RFC 9146 §3: a resumed session negotiates its Connection ID afresh. BouncyCastle 2.7 reads a resumption's server
    /// extensions back from the session (the old CID, which another session may hold now) and writes the fresh CID
    /// into a dictionary that handshake does not use: drop the stored one, and carry the fresh one over.
    /// </summary>
    public override void GetServerExtensionsForConnection(IDictionary<int, byte[]> serverExtensions)
    {
        serverExtensions.Remove(ExtensionType.connection_id);
        if (!ReferenceEquals(serverExtensions, m_serverExtensions))
        {
            m_serverExtensions.Remove(ExtensionType.connection_id);
        }
        base.GetServerExtensionsForConnection(serverExtensions);
        if (!ReferenceEquals(serverExtensions, m_serverExtensions) && m_serverExtensions.TryGetValue(ExtensionType.connection_id, out var fresh))
        {
            serverExtensions[ExtensionType.connection_id] = fresh;
        }
    }

    public CachedPskIdentityManager Identities { get; }

    /// <summary>
    /// The authenticated identity, set when the handshake completed: SecurityParameters.PskIdentity for PSK, the
    /// certificate's or raw key's <see cref="CredentialIdentities"/> name otherwise.
    /// </summary>
    public string? AuthenticatedIdentity { get; private set; }

    /// <summary>The device the credential belongs to, once it was accepted (PSK: when its key was handed out).</summary>
    public string? DeviceId => Identities.DeviceId ?? (_authentication.Succeeded ? _authentication.DeviceId : null);

    /// <summary>The identity offered, authenticated or not (for the failure log).</summary>
    public string? OfferedIdentity => Identities.OfferedIdentity ?? _authentication.Identity;

    /// <summary>Why the client's certificate or raw key was refused (<see cref="CertificateAuthentication.Reason"/>), null when it was not.</summary>
    public string? CertificateRejectReason { get; private set; }

    /// <summary>The refusal came after the client proved its key (the enrollment): our Finished and the alert must still leave.</summary>
    public bool FailedAfterVerify { get; private set; }

    /// <summary>The last verdict on the client's certificate or raw key (at its Certificate message, or at a resumption); default until one.</summary>
    private CertificateAuthentication _authentication = new(null, null, CertificateRejection.NoCertificate, null);
    private byte[]? _offeredSession;
    private int _resumedSuite = -1;

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
    protected override byte[]? GetNewConnectionID() => _connectionIds?.Next();

    /// <summary>The last alert this side raised, or the peer sent (for the failure log).</summary>
    public string? LastAlert { get; private set; }

    protected override ProtocolVersion[] GetSupportedVersions() => _stream ? ProtocolVersion.TLSv12.Only() : ProtocolVersion.DTLSv12.Only();

    /// <summary>RFC 8323 §8.2: "coap" is the ALPN protocol id of CoAP over TLS; a client offering only others gets no_application_protocol (RFC 7301 §3.2).</summary>
    protected override IList<ProtocolName>? GetProtocolNames() => _stream ? [CoapAlpn] : null;

    private static readonly ProtocolName CoapAlpn = ProtocolName.AsUtf8Encoding("coap");

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

    /// <summary>PSK suites: no certificate (the base). ECDHE-ECDSA: ours, as X.509 or as a raw key (RFC 7250 §4.1).</summary>
    public override TlsCredentials GetCredentials()
    {
        if (m_context.SecurityParameters.KeyExchangeAlgorithm != KeyExchangeAlgorithm.ECDHE_ECDSA)
        {
            return base.GetCredentials();
        }
        return _signer ??= _certificate!.Signer(m_context, (BcTlsCrypto)Crypto, ServerSendsRawPublicKey());
    }

    /// <summary>
    /// RFC 7250 §4.2: the client's server_certificate_type lists what it accepts; without the extension it is X.509
    /// only. A raw key when the client accepts one and either accepts nothing else or authenticates with a raw key
    /// itself (its client_certificate_type puts RawPublicKey first): such a client holds a pinned key, not a trust
    /// store (GnuTLS lists X.509 first even then, and fails the chain with unknown_ca).
    /// </summary>
    private bool ServerSendsRawPublicKey()
    {
        var accepted = TlsExtensionsUtilities.GetServerCertificateTypeExtensionClient(m_clientExtensions);
        if (accepted is null || Array.IndexOf(accepted, CertificateType.RawPublicKey) < 0)
        {
            return false;
        }
        var own = TlsExtensionsUtilities.GetClientCertificateTypeExtensionClient(m_clientExtensions);
        return Array.IndexOf(accepted, CertificateType.X509) < 0 || own is [CertificateType.RawPublicKey, ..];
    }

    /// <summary>Devices may authenticate with an X.509 certificate or a raw public key (RFC 7250 client_certificate_type).</summary>
    protected override short[] GetAllowedClientCertificateTypes() => [CertificateType.X509, CertificateType.RawPublicKey];

    /// <summary>No OCSP stapling: the gateway's certificate is checked by the device against what it was provisioned with.</summary>
    protected override bool AllowCertificateStatus() => false;

    /// <summary>
    /// ECDHE-ECDSA suites: the device must present its certificate (mutual authentication, RFC 7252 §9.1.3.3); ECDSA or
    /// RSA keys, any signature algorithm BouncyCastle verifies by default. PSK suites ask for none.
    /// </summary>
    public override CertificateRequest? GetCertificateRequest()
    {
        if (m_context.SecurityParameters.KeyExchangeAlgorithm != KeyExchangeAlgorithm.ECDHE_ECDSA)
        {
            return null;
        }
        return new CertificateRequest([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign],
            TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null);
    }

    /// <summary>
    /// The client's certificate (or raw key), before its CertificateVerify: whose is it? A refusal ends the handshake
    /// with the alert RFC 5246 §7.2.2 names for it, and its reason is counted and logged.
    /// </summary>
    public override void NotifyClientCertificate(Certificate clientCertificate)
    {
        _authentication = Authenticate(clientCertificate);
        if (!_authentication.Succeeded)
        {
            CertificateRejectReason = _authentication.Reason;
            throw new TlsFatalAlert(AlertFor(_authentication.Rejection), _authentication.Detail);
        }
    }

    private CertificateAuthentication Authenticate(Certificate certificate)
    {
        if (_certificates is null || certificate.IsEmpty)
        {
            return new CertificateAuthentication(null, null, CertificateRejection.NoCertificate, "the client sent no certificate");
        }
        if (certificate.CertificateType == CertificateType.RawPublicKey)
        {
            return _certificates.AuthenticatePublicKey(certificate.GetCertificateAt(0).GetEncoded(), _stopping);
        }
        var chain = new byte[certificate.Length][];
        for (var i = 0; i < chain.Length; i++)
        {
            chain[i] = certificate.GetCertificateAt(i).GetEncoded();
        }
        return _certificates.AuthenticateCertificate(chain, _stopping);
    }

    private static short AlertFor(CertificateRejection rejection) => rejection switch
    {
        CertificateRejection.NoCertificate => AlertDescription.handshake_failure, // RFC 5246 §7.4.6
        CertificateRejection.Expired or CertificateRejection.NotYetValid => AlertDescription.certificate_expired,
        CertificateRejection.UnknownAuthority => AlertDescription.unknown_ca,
        CertificateRejection.Revoked => AlertDescription.certificate_revoked,
        CertificateRejection.UnknownDevice or CertificateRejection.UnknownKey => AlertDescription.access_denied,
        CertificateRejection.LookupFailed => AlertDescription.internal_error,
        _ => AlertDescription.bad_certificate,
    };

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        var parameters = m_context.SecurityParameters;
        var identity = parameters.PskIdentity;
        AuthenticatedIdentity = identity is not null ? Encoding.UTF8.GetString(identity) : _authentication.Succeeded ? _authentication.Identity : null;
        Resumed = parameters.IsResumedSession;
        if (_authentication is { Succeeded: true, Enrollment: not null } && identity is null)
        {
            // The client's CertificateVerify is verified by now: its certificate may be recorded on the device.
            var enrolled = _certificates!.Enroll(_authentication, _stopping);
            if (!enrolled.Succeeded)
            {
                CertificateRejectReason = enrolled.Reason;
                FailedAfterVerify = true;
                throw new TlsFatalAlert(AlertFor(enrolled.Rejection), enrolled.Detail);
            }
        }
        if (_offeredSession is not null && !Resumed)
        {
            _resumption?.Remove(_offeredSession); // offered, not resumed: BouncyCastle destroyed its secret
        }
        // Only sessions with the extended master secret (RFC 7627): BouncyCastle refuses to resume any other.
        if (!Resumed && _resumption is not null && DtlsCipherSuites.IsCertificateSuite(parameters.CipherSuite) && parameters.IsExtendedMasterSecret
            && parameters.PeerCertificate is { } peer)
        {
            _resumption.Add(m_context.Session, peer);
        }
        NegotiatedCipherSuite = parameters.CipherSuite;
        SessionKey = DtlsSessionKey.From(parameters.ClientRandom, parameters.ServerRandom);
        ReceiveConnectionId = parameters.ConnectionIDPeer is { Length: > 0 } cid ? cid : null;
        SendConnectionId = parameters.ConnectionIDLocal ?? [];
        EncryptThenMac = parameters.IsEncryptThenMac;
        KeyBlock = DtlsRecordCipher.DeriveKeyBlock(parameters);
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
