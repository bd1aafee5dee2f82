using CsCheck;

namespace NHub.Coap.Tests.Codec;

public sealed class CodecPropertyTests
{
    [Fact]
    public void Random_bytes_never_escape_the_parser_as_an_exception()
    {
        // CsCheck samples in parallel: one message per sample.
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            var message = new CoapMessage();
            var error = CoapParser.TryParse(bytes, message);
            if (error == CoapParseError.None)
            {
                // Whatever parsed must be critical-option-checkable and serializable without throwing.
                CoapParser.FindBadCriticalOption(message);
                CoapSerializer.ToArray(message);
            }
        }, iter: 200_000);
    }

    [Fact]
    public void The_span_reader_and_the_parser_agree_on_any_input()
    {
        Gen.Select(Gen.Byte[0x40, 0x7F], Gen.Byte.Array[0, 120]).Sample((first, rest) =>
        {
            byte[] bytes = [first, .. rest];
            var message = new CoapMessage();
            var parsed = CoapParser.TryParse(bytes, message);
            var reader = new CoapReader(bytes);
            var options = 0;
            while (reader.TryReadOption(out _, out _))
            {
                options++;
            }
            if (reader.Error != CoapParseError.None)
            {
                Assert.Equal(reader.Error, parsed);
                return;
            }
            Assert.True(parsed is CoapParseError.None or CoapParseError.BadEmptyMessage);
            Assert.Equal(message.Options.Count, options);
            Assert.Equal(message.Payload.Length, reader.Payload.Length);
        }, iter: 100_000);
    }

    [Fact]
    public void Bytes_that_start_like_coap_never_escape_the_parser_either()
    {
        Gen.Select(Gen.Byte[0x40, 0x7F], Gen.Byte, Gen.Byte.Array[2, 200]).Sample((first, code, rest) =>
        {
            var message = new CoapMessage();
            var bytes = new byte[rest.Length + 2];
            bytes[0] = first;
            bytes[1] = code;
            rest.CopyTo(bytes, 2);
            CoapParser.TryParse(bytes, message);
        }, iter: 200_000);
    }

    private static readonly Gen<CoapMessage> ValidMessage =
        Gen.Select(
            Gen.Int[0, 3],
            Gen.Int[0, 4].Select(i => new[] { CoapCode.Get, CoapCode.Post, CoapCode.Content, CoapCode.Created, CoapCode.NotFound }[i]),
            Gen.UShort,
            Gen.Byte.Array[0, 8],
            Gen.Select(Gen.Int[1, 2000], Gen.Byte.Array[0, 300]).Array[0, 8],
            Gen.Byte.Array[0, 400])
        .Select((type, code, mid, token, options, payload) =>
        {
            var m = new CoapMessage { Type = (CoapMessageType)type, Code = code, MessageId = mid, Token = token, Payload = payload };
            foreach (var (number, value) in options)
            {
                m.AddOption(new CoapOption(number, value));
            }
            return m;
        });

    [Fact]
    public void Every_valid_message_round_trips_byte_for_byte()
    {
        ValidMessage.Sample(m =>
        {
            var bytes = CoapSerializer.ToArray(m);
            Assert.Equal(CoapSerializer.GetLength(m), bytes.Length);
            var back = new CoapMessage();
            Assert.Equal(CoapParseError.None, CoapParser.TryParse(bytes, back));
            Assert.Equal(m.Type, back.Type);
            Assert.Equal(m.Code, back.Code);
            Assert.Equal(m.MessageId, back.MessageId);
            Assert.Equal(m.Token.ToArray(), back.Token.ToArray());
            Assert.Equal(m.Options.Count, back.Options.Count);
            for (var i = 0; i < m.Options.Count; i++)
            {
                Assert.Equal(m.Options[i].Number, back.Options[i].Number);
                Assert.Equal(m.Options[i].Value.ToArray(), back.Options[i].Value.ToArray());
            }
            Assert.Equal(m.Payload.ToArray(), back.Payload.ToArray());
            Assert.Equal(bytes, CoapSerializer.ToArray(back));
        }, iter: 20_000);
    }
}
