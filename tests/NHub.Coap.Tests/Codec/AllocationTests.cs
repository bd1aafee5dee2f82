using System.Buffers;
using System.Text;

namespace NHub.Coap.Tests.Codec;

/// <summary>
/// A functional property, not a timing: parsing a typical telemetry POST into a reused message and serializing a
/// response into a caller's buffer allocate nothing (the hot path of the gateway's codec).
/// </summary>
public sealed class AllocationTests
{
    [Fact]
    public void Parse_and_serialize_of_a_telemetry_post_allocate_nothing_per_message()
    {
        var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = 1, Token = new byte[] { 1, 2, 3, 4 } }
            .SetUriPath("/telemetry");
        request.AddQuery("id=869181072798893");
        request.ContentFormat = ContentFormats.Json;
        request.Payload = Encoding.UTF8.GetBytes("{\"temperature\":23.5,\"humidity\":45.2}");
        ReadOnlyMemory<byte> datagram = CoapSerializer.ToArray(request);

        var parsed = new CoapMessage();
        var output = new byte[1500];
        // Warm up (JIT, list capacity).
        for (var i = 0; i < 100; i++)
        {
            CoapParser.TryParse(datagram, parsed);
            CoapSerializer.TryWrite(parsed, output, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        const int Iterations = 10_000;
        var total = 0;
        for (var i = 0; i < Iterations; i++)
        {
            CoapParser.TryParse(datagram, parsed);
            total += CoapParser.FindBadCriticalOption(parsed) ?? 1;
            total += parsed.ContentFormat ?? 0;
            CoapSerializer.TryWrite(parsed, output, out var written);
            total += written;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(total > 0);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Reading_a_datagram_with_the_span_reader_and_writing_to_a_buffer_writer_allocate_nothing()
    {
        var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Post, MessageId = 1, Token = new byte[] { 1, 2, 3, 4 } }
            .SetUriPath("/telemetry");
        request.AddQuery("id=869181072798893");
        request.ContentFormat = ContentFormats.Json;
        request.Payload = Encoding.UTF8.GetBytes("{\"temperature\":23.5}");
        var datagram = CoapSerializer.ToArray(request);
        var response = new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Created, MessageId = 1, Token = request.Token };
        var writer = new ArrayBufferWriter<byte>(1500);

        long checksum = 0;
        void Once()
        {
            var reader = new CoapReader(datagram);
            while (reader.TryReadOption(out var number, out var value))
            {
                checksum += number + value.Length;
            }
            checksum += reader.Payload.Length + (request.UriPathEquals("/telemetry") ? 1 : 0);
            writer.ResetWrittenCount();
            checksum += CoapSerializer.Write(response, writer);
        }

        for (var i = 0; i < 100; i++)
        {
            Once();
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Once();
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(checksum > 0);
        Assert.Equal(0, allocated);
    }
}
