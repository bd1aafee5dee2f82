using Org.BouncyCastle.Tls;

namespace NHub.DeviceSimulator.Dtls;

/// <summary>
/// The device's side of RFC 9146 for both of its DTLS clients (PSK and certificate): the connection_id extension it
/// offers (null: none; empty: "none, but give me yours", §3), and the CID the server chose, which BouncyCastle's client
/// keeps as SecurityParameters.ConnectionIDLocal (the CID this end writes into its records).
/// </summary>
internal static class ClientConnectionId
{
    public static IDictionary<int, byte[]> Offer(IDictionary<int, byte[]>? extensions, byte[]? offered)
    {
        extensions ??= new Dictionary<int, byte[]>();
        if (offered is { } cid)
        {
            TlsExtensionsUtilities.AddConnectionIDExtension(extensions, cid);
        }
        return extensions;
    }

    public static byte[]? Chosen(SecurityParameters parameters) => parameters.ConnectionIDLocal is { Length: > 0 } cid ? cid : null;
}
