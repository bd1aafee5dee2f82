using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NHub.DeviceSimulator.Api;

/// <summary>The few management REST API calls the simulator needs (docs/rest-api.md), with the bearer API key.</summary>
public sealed class ManagementApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ManagementApiClient(Uri api, string apiKey, int maxConnections = 64)
    {
        var root = api.AbsolutePath.Contains("/api/v4/manage", StringComparison.Ordinal) ? api : new Uri(api, "/api/v4/manage/");
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = new Uri(root.ToString().TrimEnd('/') + "/"),
            Timeout = TimeSpan.FromSeconds(60),
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>Creates the device (201) or finds it there already (409), then issues a PSK credential, revoking an active one first (the key is only ever shown once).</summary>
    public async Task<DeviceCredential> ProvisionAsync(string deviceId, string pskFormat, CancellationToken ct)
    {
        using (var created = await _http.PostAsJsonAsync("devices/", new { device_id = deviceId, model = "SIM-1", serial = "SIM-" + deviceId }, ct))
        {
            if (created.StatusCode != HttpStatusCode.Conflict)
            {
                await EnsureSuccessAsync(created, "create device " + deviceId, ct);
            }
        }
        for (var attempt = 0; ; attempt++)
        {
            using var issued = await _http.PostAsJsonAsync($"devices/{deviceId}/credentials/", new { auth_type = "psk", psk_format = pskFormat }, ct);
            if (issued.StatusCode == HttpStatusCode.Conflict && attempt == 0)
            {
                await RevokeActiveAsync(deviceId, ct);
                continue;
            }
            await EnsureSuccessAsync(issued, "issue credential for " + deviceId, ct);
            var body = await issued.Content.ReadFromJsonAsync<JsonObject>(ct) ?? throw new InvalidDataException("empty credential response");
            return new DeviceCredential(deviceId, (string?)body["psk_identity"], (string?)body["psk_key"], pskFormat);
        }
    }

    private async Task RevokeActiveAsync(string deviceId, CancellationToken ct)
    {
        var list = await _http.GetFromJsonAsync<JsonObject>($"devices/{deviceId}/credentials/", ct);
        foreach (var item in list?["items"]?.AsArray() ?? [])
        {
            if ((string?)item?["status"] == "active")
            {
                using var revoked = await _http.DeleteAsync($"devices/{deviceId}/credentials/{(string?)item!["id"]}/", ct);
                await EnsureSuccessAsync(revoked, "revoke credential of " + deviceId, ct);
            }
        }
    }

    /// <summary>Reads the device's twin (GET devices/{id}); returns the HTTP status.</summary>
    public async Task<HttpStatusCode> GetDeviceAsync(string deviceId, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"devices/{deviceId}", ct);
        return response.StatusCode;
    }

    /// <summary>Queues a command; returns the HTTP status (202 when queued).</summary>
    public async Task<HttpStatusCode> PostCommandAsync(string deviceId, string name, object parameters, CancellationToken ct)
    {
        using var response = await _http.PostAsJsonAsync($"devices/{deviceId}/commands/", new { name, @params = parameters, ttl_seconds = 600 }, ct);
        return response.StatusCode;
    }

    /// <summary>Size and SHA-256 (hex) of a firmware version, or null when it does not exist.</summary>
    public async Task<(long Size, string Sha256)?> GetFirmwareAsync(string version, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"firmware/{version}", ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        await EnsureSuccessAsync(response, "read firmware " + version, ct);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(ct) ?? throw new InvalidDataException("empty firmware response");
        return ((long)body["size"]!, (string)body["sha256"]!);
    }

    /// <summary>Uploads a firmware image (201 new, 200 same bytes again).</summary>
    public async Task PutFirmwareAsync(string version, byte[] image, CancellationToken ct)
    {
        using var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PutAsync($"firmware/{version}", content, ct);
        await EnsureSuccessAsync(response, "upload firmware " + version, ct);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var detail = await response.Content.ReadAsStringAsync(ct);
            throw new HttpRequestException($"{what}: HTTP {(int)response.StatusCode} {detail}", null, response.StatusCode);
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Provisions devices <c>prefix{offset}..prefix{offset+count-1}</c> through the API with bounded concurrency.</summary>
public static class Provisioner
{
    public static async Task<List<DeviceCredential>> ProvisionAsync(ManagementApiClient api, string prefix, int offset, int count, string pskFormat,
        int concurrency, Action<int>? progress, CancellationToken ct)
    {
        var results = new DeviceCredential[count];
        var done = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (i, token) =>
        {
            results[i] = await api.ProvisionAsync(prefix + (offset + i).ToString(System.Globalization.CultureInfo.InvariantCulture), pskFormat, token);
            progress?.Invoke(Interlocked.Increment(ref done));
        });
        return [.. results];
    }
}
