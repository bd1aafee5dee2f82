using System.Globalization;

namespace NHub.DeviceSimulator;

/// <summary>Command line: <c>--scenario telemetry|get --target coap://host:port/path --devices N --rate R --duration S [--json out.json]</c>.</summary>
public sealed record SimulatorOptions(
    string Scenario,
    Uri Target,
    int Devices,
    double RatePerSecond,
    TimeSpan Duration,
    TimeSpan Timeout,
    string DeviceIdPrefix,
    string? JsonOutput,
    string Payload)
{
    public static SimulatorOptions Parse(string[] args)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'");
            }
            map[args[i][2..]] = args[i + 1];
        }
        string Get(string key, string fallback) => map.TryGetValue(key, out var v) ? v : fallback;
        var scenario = Get("scenario", "telemetry");
        if (scenario is not ("telemetry" or "get"))
        {
            throw new ArgumentException("--scenario must be telemetry or get");
        }
        var target = new Uri(Get("target", scenario == "get" ? "coap://127.0.0.1:5683/.well-known/core" : "coap://127.0.0.1:5683/telemetry"));
        if (target.Scheme != "coap")
        {
            throw new ArgumentException("--target must be a coap:// URI (coaps:// is not in this version of the simulator)");
        }
        return new SimulatorOptions(
            scenario,
            target,
            int.Parse(Get("devices", "100"), CultureInfo.InvariantCulture),
            double.Parse(Get("rate", "0"), CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(double.Parse(Get("duration", "10"), CultureInfo.InvariantCulture)),
            TimeSpan.FromSeconds(double.Parse(Get("timeout", "5"), CultureInfo.InvariantCulture)),
            Get("device-prefix", "sim"),
            map.GetValueOrDefault("json"),
            Get("payload", "{\"temperature\":23.5,\"humidity\":45.2}"));
    }

    public const string Usage = """
        NHub device simulator: N virtual CoAP devices, each with its own UDP port, one confirmable request in flight
        (NSTART = 1), against any CoAP server.
          --scenario telemetry|get   POST JSON to the target (?id=<prefix><n> added) or GET the target
          --target URI               coap://host:port/path
          --devices N                virtual devices (default 100)
          --rate R                   requests/s in total; 0 = as fast as responses come back (default 0)
          --duration S               seconds to run (default 10)
          --timeout S                a request unanswered this long counts as a timeout (default 5)
          --device-prefix P          device ids are P0..P(N-1) (default sim)
          --json FILE                also write the result as JSON
        """;
}
