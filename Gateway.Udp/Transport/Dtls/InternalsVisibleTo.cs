using System.Runtime.CompilerServices;

// Unit tests reach the DTLS transport's internals (rate limiter, record header, replay window).
[assembly: InternalsVisibleTo("NHub.Gateway.Tests")]
