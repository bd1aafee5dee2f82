using System.Text;

namespace NHub.DeviceSimulator.Api;

/// <summary>
/// A simulated device: its id and, for DTLS, its PSK identity and key as the management API issued them.
/// <c>psk_format</c> ascii (the default) means the DTLS key is the ASCII bytes of the 64 hex characters; binary means
/// the 32 bytes they encode (docs/rest-api.md, "Issue").
/// </summary>
public sealed record DeviceCredential(string DeviceId, string? PskIdentity, string? PskKey, string PskFormat = "ascii")
{
    public byte[] KeyBytes() => PskKey is null
        ? throw new InvalidOperationException($"device {DeviceId} has no PSK key")
        : PskFormat == "binary" ? Convert.FromHexString(PskKey) : Encoding.ASCII.GetBytes(PskKey);
}

/// <summary>CSV of credentials, one device a line: <c>device_id,psk_identity,psk_key[,psk_format]</c> (a header line is allowed).</summary>
public static class CredentialsCsv
{
    public const string Header = "device_id,psk_identity,psk_key,psk_format";

    /// <summary>
    /// The credentials from the <paramref name="skip"/>-th on, at most <paramref name="take"/> of them. Lines before
    /// the slice are counted, not parsed, so each of a fleet of processes (<c>--device-offset</c>) holds only its own
    /// devices: a million-line file read whole by sixty processes would cost gigabytes.
    /// </summary>
    public static List<DeviceCredential> Read(string path, int skip = 0, int take = int.MaxValue)
    {
        var list = new List<DeviceCredential>();
        var lineNumber = 0;
        var seen = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("device_id,", StringComparison.Ordinal))
            {
                continue;
            }
            if (seen++ < skip)
            {
                continue;
            }
            if (list.Count == take)
            {
                break;
            }
            var f = line.Split(',');
            if (f.Length is < 3 or > 4 || f[0].Length == 0 || f[1].Length == 0 || f[2].Length == 0)
            {
                throw new FormatException($"{path}:{lineNumber}: expected device_id,psk_identity,psk_key[,psk_format]");
            }
            var format = f.Length == 4 && f[3].Length > 0 ? f[3] : "ascii";
            if (format is not ("ascii" or "binary"))
            {
                throw new FormatException($"{path}:{lineNumber}: psk_format must be ascii or binary");
            }
            list.Add(new DeviceCredential(f[0], f[1], f[2], format));
        }
        return list;
    }

    public static void Write(string path, IEnumerable<DeviceCredential> credentials)
    {
        using var w = new StreamWriter(path, append: false, new UTF8Encoding(false));
        w.WriteLine(Header);
        foreach (var c in credentials)
        {
            w.WriteLine($"{c.DeviceId},{c.PskIdentity},{c.PskKey},{c.PskFormat}");
        }
    }
}
