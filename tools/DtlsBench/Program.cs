using System.Globalization;
using System.Net;
using NHub.DtlsBench;

// DTLS 1.2 PSK micro-benchmark of the gateway's DtlsTransport (server cost of handshakes and of held sessions).
//   inproc  --clients C --count N [--close] [--request]      server and C client threads in one process
//   server  --port P [--identities I] [--interval S]         server only; prints rate, CPU/handshake, memory/session
//   clients --target 127.0.0.1:P --count N --clients C --ips 127.0.0.2,127.0.0.3 [--base-port B]
//                                                            clients only, each from its own (ip, port): sessions stay
//   ciphers [--bytes B] [--count N]                          CPU per sealed/opened record of each AEAD implementation
var options = Options.Parse(args);
return options.Mode switch
{
    "inproc" => await InProcess.RunAsync(options),
    "server" => await ServerOnly.RunAsync(options),
    "clients" => ClientsOnly.Run(options),
    "ciphers" => RecordCiphers.Run(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: DtlsBench inproc|server|clients|ciphers [--clients C] [--count N] [--port P] [--target host:port] [--ips a,b] [--base-port B] [--identities I] [--handshake-threads T] [--receive-loops L] [--close] [--request]");
    return 2;
}

namespace NHub.DtlsBench
{
    internal sealed record Options(string Mode, Dictionary<string, string> Values)
    {
        public static Options Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 1; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    continue;
                }
                var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                values[args[i][2..]] = hasValue ? args[++i] : "true";
            }
            return new Options(args.Length > 0 ? args[0] : "", values);
        }

        public int Int(string name, int fallback) => Values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        public string Text(string name, string fallback) => Values.GetValueOrDefault(name, fallback);

        public bool Flag(string name) => Values.ContainsKey(name);

        public IPAddress[] Addresses(string name, string fallback) => [.. Text(name, fallback).Split(',').Select(IPAddress.Parse)];
    }
}
