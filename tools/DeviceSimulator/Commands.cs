using System.Diagnostics;
using System.Net;
using NHub.DeviceSimulator.Api;
using NHub.DeviceSimulator.Metrics;
using NHub.DeviceSimulator.Scenarios;

namespace NHub.DeviceSimulator;

/// <summary>The two commands: <c>provision</c> (devices + credentials to a CSV) and <c>run</c> (a scenario).</summary>
internal static class Commands
{
    public static async Task<int> ProvisionAsync(SimulatorOptions options, CancellationToken ct)
    {
        var output = options.Out ?? throw new ArgumentException("provision needs --out FILE");
        using var api = RequireApi(options);
        var progress = new ProgressLine();
        var clock = Stopwatch.StartNew();
        var credentials = await Provisioner.ProvisionAsync(api, options.DevicePrefix, options.DeviceOffset, options.Devices, options.PskFormat,
            options.ProvisionConcurrency, n => progress.Show($"provisioned {n}/{options.Devices}"), ct);
        CredentialsCsv.Write(output, credentials);
        progress.Done();
        Console.WriteLine($"provisioned {credentials.Count} devices in {clock.Elapsed.TotalSeconds:F1} s -> {output}");
        return 0;
    }

    public static async Task<int> RunAsync(SimulatorOptions options, CancellationToken ct)
    {
        IScenario scenario = options.IsStream ? new Reliable.StreamRequestScenario(options.Scenario == "telemetry") : ScenarioFactory.Create(options.Scenario);
        var addresses = await Dns.GetHostAddressesAsync(options.Target.Host, ct);
        var server = new IPEndPoint(addresses[0], options.Target.Port > 0 ? options.Target.Port : options.Dtls || options.Transport == "tls" ? 5684 : 5683);
        using var api = options.Api is not null ? RequireApi(options) : null;
        var progress = new ProgressLine();
        var credentials = await LoadCredentialsAsync(options, api, progress, ct);
        var probe = options.ServerPid is { } pid ? new ProcessProbe(pid) : null;
        probe?.Sample();
        using var context = new RunContext(options, credentials, server, api, probe);

        await scenario.SetupAsync(context, progress.Show, ct);
        // The handshakes' garbage (BouncyCastle's per-handshake objects, promoted while thousands ran at once) leaves
        // the heap full of holes: one compacting collection hands that memory back, so what a run of many simulator
        // processes costs the machine is what the devices keep.
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (options.Settle > TimeSpan.Zero)
        {
            await Task.Delay(options.Settle, ct);
        }
        if (options.ReadyFile is { } ready)
        {
            await File.WriteAllTextAsync(ready, "ready\n", ct);
        }
        if (options.StartFile is { } start)
        {
            progress.Show("set up; waiting for the start signal");
            while (!File.Exists(start))
            {
                await Task.Delay(10, ct);
            }
        }
        var self = Process.GetCurrentProcess();
        // With --warmup the devices start sending now and are measured from MeasureFrom on (requests started before it
        // are not recorded); CPU, the server probe and the elapsed time cover the measured part only.
        var warmupTicks = (long)(options.Warmup.TotalSeconds * Stopwatch.Frequency);
        context.MeasureFrom = Stopwatch.GetTimestamp() + warmupTicks;
        var deadline = context.MeasureFrom + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency);
        var run = scenario.RunAsync(context, deadline, ct);
        if (warmupTicks > 0)
        {
            progress.Show($"warming up for {options.Warmup.TotalSeconds:F0} s");
            await Task.WhenAny(run, Task.Delay(options.Warmup, ct));
        }
        var cpuBefore = self.TotalProcessorTime;
        probe?.MarkStart();
        var started = context.MeasureFrom;
        long last = 0;
        while (await Task.WhenAny(run, Task.Delay(1000, CancellationToken.None)) != run)
        {
            var now = scenario.Count(context);
            probe?.Sample();
            var server2 = probe?.Last is { } s ? $"  server {s.RssBytes / 1048576.0:F0} MiB {s.Threads} thr" : "";
            progress.Show($"{Stopwatch.GetElapsedTime(started).TotalSeconds,6:F1} s {now - last,8} {scenario.Unit}/s  total {now,10}{server2}");
            last = now;
        }
        try
        {
            await run;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopped early (Ctrl+C, SIGTERM): report what was measured
        }
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        probe?.MarkEnd();
        probe?.Sample();
        self.Refresh();
        var clientCpu = (self.TotalProcessorTime - cpuBefore).TotalSeconds;
        progress.Done();

        var report = RunReport.Build(context, scenario, elapsed, clientCpu);
        foreach (var line in report.Summary)
        {
            Console.WriteLine(line);
        }
        if (options.JsonOutput is { } path)
        {
            await File.WriteAllTextAsync(path, report.Json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
        }
        return report.Succeeded ? 0 : 1;
    }

    private static async Task<IReadOnlyList<DeviceCredential>> LoadCredentialsAsync(SimulatorOptions options, ManagementApiClient? api, ProgressLine progress, CancellationToken ct)
    {
        if (options.CredentialsFile is { } file)
        {
            var slice = CredentialsCsv.Read(file, options.DeviceOffset, options.Devices);
            return slice.Count > 0 ? slice : throw new ArgumentException($"{file} holds no credentials from line {options.DeviceOffset}");
        }
        if (options.Provision is { } how)
        {
            if (how != "api")
            {
                throw new ArgumentException("--provision must be api");
            }
            var provisioned = await Provisioner.ProvisionAsync(api ?? throw new ArgumentException("--provision api needs --api and --api-key"),
                options.DevicePrefix, options.DeviceOffset, options.Devices, options.PskFormat, options.ProvisionConcurrency,
                n => progress.Show($"provisioned {n}/{options.Devices}"), ct);
            return provisioned;
        }
        var shared = options.PskIdentity is not null || options.PskKey is not null;
        if (shared && (options.PskIdentity is null || options.PskKey is null))
        {
            throw new ArgumentException("--psk-identity and --psk-key go together");
        }
        if ((options.Certificate is null) != (options.CertificateKey is null))
        {
            throw new ArgumentException("--certificate and --certificate-key go together");
        }
        if (options.Dtls && !shared && options.Certificate is null)
        {
            throw new ArgumentException("DTLS needs credentials: --credentials FILE, --provision api, --psk-identity with --psk-key, or --certificate with --certificate-key");
        }
        return [.. Enumerable.Range(options.DeviceOffset, options.Devices).Select(i =>
            new DeviceCredential(options.DevicePrefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture), options.PskIdentity, options.PskKey, options.PskFormat))];
    }

    private static ManagementApiClient RequireApi(SimulatorOptions options) =>
        new(options.Api ?? throw new ArgumentException("--api URL is required"),
            options.ApiKey ?? throw new ArgumentException("--api-key (or NHUB_API_KEY) is required"),
            Math.Max(options.ProvisionConcurrency, options.CommandConcurrency));
}
