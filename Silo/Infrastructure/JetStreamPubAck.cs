using System.Buffers;
using System.Text.Json;
using NATS.Client.Core;

namespace NHub.Silo.Infrastructure;

/// <summary>
/// JetStream's answer to a publish (the NATS JetStream wire API, "PubAck": <c>{"stream":"S","seq":N,"duplicate":true}</c>
/// on success, <c>{"error":{"code":503,"err_code":10077,"description":"..."}}</c> when the stream refused it), read
/// straight from the reply's bytes. The telemetry publisher sends the message as a plain request and reads this
/// itself: NATS.Net's JetStream publish wraps the same request in two more async layers, a publish-options object
/// and a subscription-options object per call; with its timers that was about a fifth of the silo's garbage per
/// telemetry request (bench/RESULTS.md, issue #15).
/// </summary>
public readonly record struct JetStreamPubAck(string? Stream, ulong Sequence, bool Duplicate, int ErrorCode, string? Error)
{
    /// <summary>Stored: the stream named itself and no error came back.</summary>
    public bool Stored => Error is null && Stream is not null;

    public static readonly INatsDeserialize<JetStreamPubAck> Deserializer = new Reader();

    /// <summary>Reads one ack; unknown fields are skipped, and a reply that is not an ack object is an error.</summary>
    public static JetStreamPubAck Parse(ReadOnlySequence<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Malformed;
            }
            string? stream = null, error = null;
            ulong seq = 0;
            bool duplicate = false;
            int code = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("stream"u8))
                {
                    reader.Read();
                    stream = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("seq"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number)
                    {
                        seq = reader.GetUInt64();
                    }
                }
                else if (reader.ValueTextEquals("duplicate"u8))
                {
                    reader.Read();
                    duplicate = reader.TokenType == JsonTokenType.True;
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    (code, error) = ReadError(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            return new JetStreamPubAck(stream, seq, duplicate, code, error);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return Malformed;
        }
    }

    private static (int Code, string Description) ReadError(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return (0, "malformed error");
        }
        int code = 0;
        string? description = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("code"u8) && reader.Read() && reader.TokenType == JsonTokenType.Number)
            {
                code = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("description"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                description = reader.GetString();
            }
            else
            {
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    reader.Read();
                }
                reader.Skip();
            }
        }
        return (code, description ?? "error");
    }

    private static readonly JetStreamPubAck Malformed = new(null, 0, false, 0, "not a JetStream publish ack");

    private sealed class Reader : INatsDeserialize<JetStreamPubAck>
    {
        public JetStreamPubAck Deserialize(in ReadOnlySequence<byte> buffer) => Parse(buffer);
    }
}
