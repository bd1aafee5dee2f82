using System.Text;

namespace NHub.Coap;

/// <summary>
/// A CoAP message (RFC 7252 §3). Options are kept sorted by number (stable for repeated options). A parsed message's
/// token, option values and payload are slices of the datagram it was parsed from: copy what outlives that buffer.
/// Instances are reusable (<see cref="Clear"/>), so a receive loop can parse without allocating.
/// </summary>
public sealed partial class CoapMessage
{
    private readonly List<CoapOption> _options = new(12);

    public CoapMessageType Type { get; set; }
    public CoapCode Code { get; set; }
    public ushort MessageId { get; set; }

    /// <summary>0–8 bytes (§5.3.1).</summary>
    public ReadOnlyMemory<byte> Token { get; set; }

    public ReadOnlyMemory<byte> Payload { get; set; }

    public IReadOnlyList<CoapOption> Options => _options;

    public void Clear()
    {
        Type = default;
        Code = default;
        MessageId = 0;
        Token = default;
        Payload = default;
        _options.Clear();
    }

    /// <summary>Inserts after any options with the same or a lower number (keeps §3.1 order and repeat order).</summary>
    public CoapMessage AddOption(CoapOption option)
    {
        var i = _options.Count;
        while (i > 0 && _options[i - 1].Number > option.Number)
        {
            i--;
        }
        _options.Insert(i, option);
        return this;
    }

    /// <summary>Appends in wire order: the parser's fast path (options arrive sorted).</summary>
    internal void AppendParsedOption(CoapOption option) => _options.Add(option);

    public CoapMessage SetOption(CoapOption option)
    {
        RemoveOption(option.Number);
        return AddOption(option);
    }

    public CoapMessage RemoveOption(int number)
    {
        // A loop, not RemoveAll with a lambda: that would allocate a closure per call (every response sets options).
        for (var i = _options.Count - 1; i >= 0; i--)
        {
            if (_options[i].Number == number)
            {
                _options.RemoveAt(i);
            }
        }
        return this;
    }

    public bool HasOption(int number) => TryGetOption(number, out _);

    public bool TryGetOption(int number, out CoapOption option)
    {
        foreach (var o in _options)
        {
            if (o.Number == number)
            {
                option = o;
                return true;
            }
            if (o.Number > number)
            {
                break;
            }
        }
        option = default;
        return false;
    }

    /// <summary>
    /// The uint value (§3.2) of a non-repeatable option, or null when absent — and also when it is repeated (§5.4.5)
    /// or its length is outside the §5.10 bounds (§5.4.3): such an option is treated as unrecognized, i.e. ignored
    /// if elective (a critical one is rejected first by <see cref="CoapParser.FindBadCriticalOption"/>).
    /// </summary>
    public uint? GetUInt(int number) => TryGetSingleOption(number, out var o) ? o.GetUInt() : null;

    /// <summary>The one valid occurrence of a non-repeatable option (see <see cref="GetUInt"/> for the rules).</summary>
    public bool TryGetSingleOption(int number, out CoapOption option)
    {
        option = default;
        var options = _options;
        for (var i = 0; i < options.Count; i++)
        {
            var o = options[i];
            if (o.Number < number)
            {
                continue;
            }
            if (o.Number > number)
            {
                return false;
            }
            if (i + 1 < options.Count && options[i + 1].Number == number && !CoapOptionNumber.IsRepeatable(number))
            {
                return false;
            }
            var (min, max) = CoapOptionNumber.LengthBounds(number);
            if (o.Value.Length < min || o.Value.Length > max)
            {
                return false;
            }
            option = o;
            return true;
        }
        return false;
    }

    public CoapMessage SetUInt(int number, uint value) => SetOption(CoapOption.FromUInt(number, value));

    public int? ContentFormat
    {
        get => (int?)GetUInt(CoapOptionNumber.ContentFormat);
        set => SetOrRemove(CoapOptionNumber.ContentFormat, (uint?)value);
    }

    public int? Accept
    {
        get => (int?)GetUInt(CoapOptionNumber.Accept);
        set => SetOrRemove(CoapOptionNumber.Accept, (uint?)value);
    }

    /// <summary>Max-Age in seconds (§5.10.5); absent means the default of 60.</summary>
    public uint? MaxAge
    {
        get => GetUInt(CoapOptionNumber.MaxAge);
        set => SetOrRemove(CoapOptionNumber.MaxAge, value);
    }

    /// <summary>Observe (RFC 7641 §2): in a request 0 = register, 1 = deregister; in a notification the sequence number.</summary>
    public uint? Observe
    {
        get => GetUInt(CoapOptionNumber.Observe);
        set => SetOrRemove(CoapOptionNumber.Observe, value);
    }

    public uint? Size1
    {
        get => GetUInt(CoapOptionNumber.Size1);
        set => SetOrRemove(CoapOptionNumber.Size1, value);
    }

    public uint? Size2
    {
        get => GetUInt(CoapOptionNumber.Size2);
        set => SetOrRemove(CoapOptionNumber.Size2, value);
    }

    /// <summary>Block1 (RFC 7959); null when absent. Use <see cref="TryGetBlock"/> to tell absent from invalid.</summary>
    public BlockOption? Block1
    {
        get => TryGetBlock(CoapOptionNumber.Block1, out var b, out _) ? b : null;
        set => SetOrRemove(CoapOptionNumber.Block1, value?.Encode());
    }

    public BlockOption? Block2
    {
        get => TryGetBlock(CoapOptionNumber.Block2, out var b, out _) ? b : null;
        set => SetOrRemove(CoapOptionNumber.Block2, value?.Encode());
    }

    /// <summary>True when present and valid; <paramref name="invalid"/> when present but malformed (SZX 7, too long).</summary>
    public bool TryGetBlock(int number, out BlockOption block, out bool invalid)
    {
        invalid = false;
        block = default;
        if (!TryGetOption(number, out var o))
        {
            return false;
        }
        invalid = !BlockOption.TryDecode(o.Value.Span, out block);
        return !invalid;
    }

    /// <summary>The Uri-Path as "/a/b" ("/" when empty).</summary>
    public string GetUriPath()
    {
        var sb = new StringBuilder();
        foreach (var o in _options)
        {
            if (o.Number == CoapOptionNumber.UriPath)
            {
                sb.Append('/').Append(Encoding.UTF8.GetString(o.Value.Span));
            }
        }
        return sb.Length == 0 ? "/" : sb.ToString();
    }

    /// <summary>Sets Uri-Path options from "/a/b" (segments are not percent-decoded: callers pass raw segments).</summary>
    public CoapMessage SetUriPath(string path)
    {
        RemoveOption(CoapOptionNumber.UriPath);
        foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            AddOption(CoapOption.FromString(CoapOptionNumber.UriPath, segment));
        }
        return this;
    }

    /// <summary>
    /// The value of the first Uri-Query "name=value" (or "name" → ""); null when absent (RFC 7252 §6.5: each
    /// Uri-Query option is one argument).
    /// </summary>
    public string? GetQueryParameter(string name)
    {
        Span<byte> key = stackalloc byte[Encoding.UTF8.GetMaxByteCount(name.Length) + 1];
        var keyLength = Encoding.UTF8.GetBytes(name, key);
        key[keyLength] = (byte)'=';
        var withEquals = key[..(keyLength + 1)];
        var bare = key[..keyLength];
        foreach (var o in _options)
        {
            if (o.Number != CoapOptionNumber.UriQuery)
            {
                continue;
            }
            var v = o.Value.Span;
            if (v.StartsWith(withEquals))
            {
                return Encoding.UTF8.GetString(v[withEquals.Length..]);
            }
            if (v.SequenceEqual(bare))
            {
                return "";
            }
        }
        return null;
    }

    public CoapMessage AddQuery(string argument) => AddOption(CoapOption.FromString(CoapOptionNumber.UriQuery, argument));

    private CoapMessage SetOrRemove(int number, uint? value) =>
        value is { } v ? SetUInt(number, v) : RemoveOption(number);

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Type switch
        {
            CoapMessageType.Confirmable => "CON",
            CoapMessageType.NonConfirmable => "NON",
            CoapMessageType.Acknowledgement => "ACK",
            _ => "RST",
        }).Append(' ').Append(Code).Append(" mid=").Append(MessageId).Append(" token=").Append(Convert.ToHexString(Token.Span));
        foreach (var o in _options)
        {
            sb.Append(' ').Append(o.Number).Append(':').Append(Convert.ToHexString(o.Value.Span));
        }
        if (!Payload.IsEmpty)
        {
            sb.Append(" payload=").Append(Payload.Length).Append('B');
        }
        return sb.ToString();
    }
}
