using System.Runtime.CompilerServices;

// Unit tests reach the DTLS transport's internals (rate limiter, record header, replay window); the DTLS
// micro-benchmark (tools/DtlsBench) times the record ciphers directly.
[assembly: InternalsVisibleTo("NHub.Gateway.Tests")]
[assembly: InternalsVisibleTo("NHub.DtlsBench")]
