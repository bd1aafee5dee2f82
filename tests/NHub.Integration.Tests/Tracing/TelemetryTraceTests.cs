using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using NHub.Coap;
using NHub.Gateway;
using NHub.ManagementApi;
using NHub.ServiceDefaults;
using NHub.Silo.Hosting;
using NHub.Testing;
using OpenTelemetry.Trace;

namespace NHub.Integration.Tests.Tracing;

/// <summary>
/// One telemetry request's trace (issue 14 item 4): the production silo's hosting code (the same extension methods as
/// Silo/Program.cs) in this process on a real nats-server, spans caught by OpenTelemetry's in-memory exporter. The
/// gateway's CoAP span, Orleans' grain-call spans and the JetStream publish span share one trace id, and the stored
/// message's <c>traceparent</c> header names the publish span.
/// </summary>
public sealed class TelemetryTraceTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Telemetry_request_is_one_trace_from_the_gateway_through_the_grain_call_to_the_JetStream_publish()
    {
        await using var nats = await NatsServer.StartAsync();
        var coapPort = FreePorts.Next();
        var httpPort = FreePorts.Next();
        var settings = new Dictionary<string, string?>
        {
            ["Nats:Url"] = nats.Url,
            ["Orleans:SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Gateway:Udp:BindAddress"] = "127.0.0.1",
            ["Gateway:Udp:Port"] = coapPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Gateway:Dtls:BindAddress"] = "127.0.0.1",
            ["Gateway:Dtls:Port"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ManagementApi:ApiKeys:0"] = ClusterSettings.TestApiKey,
        };
        var spans = new ConcurrentActivityList();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls($"http://127.0.0.1:{httpPort}");
        builder.AddServiceDefaults();
        builder.AddNHubSilo();
        builder.AddManagementApi();
        builder.AddCoapGateway();
        builder.AddPlatformTracing(tracing => tracing.AddInMemoryExporter(spans));
        await using var app = builder.Build();
        app.MapManagementApi();
        await app.StartAsync();
        try
        {
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = 0x7101, Token = new byte[] { 7, 1 } };
            request.SetUriPath("/telemetry");
            request.AddOption(new CoapOption(CoapOptionNumber.UriQuery, "id=trace-001"u8.ToArray()));
            request.ContentFormat = ContentFormats.Json;
            request.Payload = "{\"temperature\":23.5}"u8.ToArray();
            await udp.SendAsync(CoapSerializer.ToArray(request), new IPEndPoint(IPAddress.Loopback, coapPort));
            using (var wait = new CancellationTokenSource(Wait))
            {
                var received = await udp.ReceiveAsync(wait.Token);
                var response = new CoapMessage();
                Assert.Equal(CoapParseError.None, CoapParser.TryParse(received.Buffer, response));
                Assert.Equal(CoapCode.Created, response.Code);
            }

            // The gateway's span ends just after the response is sent: wait for it to be exported.
            var gateway = await WaitForAsync(() => spans.Snapshot().FirstOrDefault(a => a.Source.Name == PlatformTracing.SourceName
                && a.OperationName == "coap.exchange"), "the gateway's CoAP exchange span");
            Assert.Equal(ActivityKind.Server, gateway.Kind);
            Assert.Equal(default, gateway.ParentSpanId);
            Assert.Equal("POST", gateway.GetTagItem("coap.method"));
            Assert.Equal("telemetry", ((string?)gateway.GetTagItem("coap.route"))?.Trim('/'));
            Assert.Equal("2.01", gateway.GetTagItem("coap.response_code"));
            Assert.Equal("udp", gateway.GetTagItem("nhub.transport"));
            Assert.Equal("trace-001", gateway.GetTagItem(PlatformTracing.DeviceIdTag));

            var all = spans.Snapshot();
            var publish = Assert.Single(all, a => a.Source.Name == PlatformTracing.SourceName && a.OperationName == "telemetry.publish");
            Assert.Equal(ActivityKind.Producer, publish.Kind);
            Assert.Equal(gateway.TraceId, publish.TraceId);

            // The publish span's parent is the silo side of the ReportTelemetry grain call, in the gateway's trace.
            var grainServer = Assert.Single(all, a => a.SpanId == publish.ParentSpanId);
            Assert.Equal(PlatformTracing.OrleansSource, grainServer.Source.Name);
            Assert.Equal(ActivityKind.Server, grainServer.Kind);
            Assert.Contains("ReportTelemetry", grainServer.OperationName + " " + grainServer.DisplayName);
            Assert.Equal(gateway.TraceId, grainServer.TraceId);
            // ... whose caller (the client side of the call) is a child of the gateway's span.
            var grainClient = Assert.Single(all, a => a.SpanId == grainServer.ParentSpanId);
            Assert.Equal(ActivityKind.Client, grainClient.Kind);
            Assert.Equal(gateway.SpanId, grainClient.ParentSpanId);

            // The stored message carries the publish span's context for a consumer to continue the trace.
            var stored = Assert.Single(await JetStreamReader.ReadAllAsync(nats.Url, "NHUB_TELEMETRY", "nhub.telemetry.trace-001"));
            Assert.NotNull(stored.Headers);
            Assert.True(stored.Headers!.TryGetValue("traceparent", out var traceparent), "no traceparent header");
            Assert.Equal($"00-{gateway.TraceId}-{publish.SpanId}-01", traceparent.ToString());
            Assert.True(ActivityContext.TryParse(traceparent.ToString(), null, out var context));
            Assert.Equal(gateway.TraceId, context.TraceId);

            // Management API requests are traced too (ASP.NET Core's server spans, with the route template).
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.TestApiKey);
            (await http.GetAsync($"{ManagementApiExtensions.Prefix}/devices/trace-001")).EnsureSuccessStatusCode();
            var api = await WaitForAsync(() => spans.Snapshot().FirstOrDefault(a => a.Source.Name == "Microsoft.AspNetCore"
                && a.GetTagItem("http.route") is string route && route.Contains("devices", StringComparison.Ordinal)), "the management API request's span");
            Assert.Equal(ActivityKind.Server, api.Kind);
            Assert.Equal("GET", api.GetTagItem("http.request.method"));
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> probe, string what) where T : class
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            if (probe() is { } found)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>The in-memory exporter adds from the threads that end spans; the test reads snapshots.</summary>
    private sealed class ConcurrentActivityList : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public List<Activity> Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
