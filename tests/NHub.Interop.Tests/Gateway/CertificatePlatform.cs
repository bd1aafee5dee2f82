using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// A production platform whose gateway presents a certificate issued by <see cref="ServerAuthority"/> (PEM files in a
/// temp dir, <c>Gateway:Dtls:Certificate:*</c>), so that clients can verify it with <c>-R</c>; and a device authority,
/// registered through the API, that issues the devices' certificates.
/// </summary>
public sealed class CertificatePlatform : IAsyncLifetime
{
    private readonly DirectoryInfo _directory = System.IO.Directory.CreateTempSubdirectory("nhub-certs-");
    private readonly ProductionPlatform _platform;

    /// <summary>The fixture xUnit makes (one public constructor only).</summary>
    public CertificatePlatform()
        : this(new Dictionary<string, string?>())
    {
    }

    /// <param name="extraSettings">Settings on top of the production ones and the gateway's certificate.</param>
    /// <param name="httpsPort">Also serve HTTPS there, with the gateway's certificate (for coaps+ws).</param>
    internal CertificatePlatform(IReadOnlyDictionary<string, string?> extraSettings, int? httpsPort = null)
    {
        ServerAuthority = TestCertificates.Authority("NHub Test Gateway CA");
        ServerCertificate = TestCertificates.Device("nhub-gateway-test", ServerAuthority, serverUsageOnly: true);
        var (certificate, key) = ServerCertificate.WritePem(_directory.FullName, "gateway");
        ServerAuthorityPath = Path.Combine(_directory.FullName, "gateway-ca.crt");
        File.WriteAllText(ServerAuthorityPath, ServerAuthority.CertificatePem);
        var settings = new Dictionary<string, string?>(extraSettings)
        {
            ["Gateway:Dtls:Certificate:Path"] = certificate,
            ["Gateway:Dtls:Certificate:KeyPath"] = key,
        };
        if (httpsPort is { } port)
        {
            settings["Kestrel:Endpoints:Https:Url"] = $"https://127.0.0.1:{port}";
            settings["Kestrel:Endpoints:Https:Certificate:Path"] = certificate;
            settings["Kestrel:Endpoints:Https:Certificate:KeyPath"] = key;
        }
        _platform = new ProductionPlatform(settings);
    }

    public ProductionPlatform Platform => _platform;

    public TestCertificate ServerAuthority { get; }

    public TestCertificate ServerCertificate { get; }

    /// <summary>The gateway's CA as a PEM file, for libcoap's <c>-R</c>.</summary>
    public string ServerAuthorityPath { get; }

    /// <summary>The deployment's device authority (registered with the API in <see cref="InitializeAsync"/>).</summary>
    public TestCertificate DeviceAuthority { get; } = TestCertificates.Authority("NHub Test Meter Factory CA");

    public string Directory => _directory.FullName;

    public async Task InitializeAsync()
    {
        await _platform.InitializeAsync();
        using var api = _platform.Api();
        var response = await api.PostAsync("certificate-authorities", new StringContent(
            System.Text.Json.JsonSerializer.Serialize(new { certificate = DeviceAuthority.CertificatePem }), System.Text.Encoding.UTF8, "application/json"));
        if (response.StatusCode != System.Net.HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"registering the device authority: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>A device that exists, with a certificate of the device authority written as PEM files.</summary>
    public async Task<(string Certificate, string Key, TestCertificate Device)> DeviceWithCertificateAsync(string deviceId, DateTimeOffset? notAfter = null,
        DateTimeOffset? notBefore = null)
    {
        await _platform.Grains.GetGrain<NHub.Grains.IDeviceGrain>(deviceId).Provision(new NHub.Grains.DeviceRecord(deviceId, "KM-3", "SN-" + deviceId, deviceId, null));
        var device = TestCertificates.Device(deviceId, DeviceAuthority, notBefore, notAfter);
        var (certificate, key) = device.WritePem(Directory, deviceId);
        return (certificate, key, device);
    }

    public async Task DisposeAsync()
    {
        await _platform.DisposeAsync();
        ServerCertificate.Dispose();
        ServerAuthority.Dispose();
        DeviceAuthority.Dispose();
        _directory.Delete(recursive: true);
    }
}
