namespace NHub.Coap;

/// <summary>RFC 8323 §5.1 signaling codes (class 7), used only on reliable transports.</summary>
public static class CoapSignalCode
{
    public static readonly CoapCode Csm = CoapCode.Create(7, 1);
    public static readonly CoapCode Ping = CoapCode.Create(7, 2);
    public static readonly CoapCode Pong = CoapCode.Create(7, 3);
    public static readonly CoapCode Release = CoapCode.Create(7, 4);
    public static readonly CoapCode Abort = CoapCode.Create(7, 5);

    public static bool IsSignal(CoapCode code) => code.Class == 7;
}

/// <summary>RFC 8323 §5.3–§5.6 signaling options. Their numbers are per signaling code, so several share a number.</summary>
public static class CoapSignalOption
{
    /// <summary>CSM (§5.3.1): the largest message the sender can receive; 1152 when not given.</summary>
    public const int MaxMessageSize = 2;

    /// <summary>CSM (§5.3.2): the sender supports BERT (block-wise transfers with SZX 7).</summary>
    public const int BlockWiseTransfer = 4;

    /// <summary>Ping and Pong (§5.4.1).</summary>
    public const int Custody = 2;

    /// <summary>Release (§5.5): where to reconnect (repeatable).</summary>
    public const int AlternativeAddress = 2;

    /// <summary>Release (§5.5): seconds to wait before reconnecting.</summary>
    public const int HoldOff = 4;

    /// <summary>Abort (§5.6): the CSM option that caused the abort.</summary>
    public const int BadCsmOption = 2;

    /// <summary>§5.3.1: the Max-Message-Size a peer assumes until the CSM says otherwise.</summary>
    public const int DefaultMaxMessageSize = 1152;
}

/// <summary>A parsed signaling message (the options this library acts on).</summary>
public readonly record struct CoapSignal(CoapCode Code, ReadOnlyMemory<byte> Token)
{
    /// <summary>CSM: Max-Message-Size, when given.</summary>
    public uint? MaxMessageSize { get; init; }

    /// <summary>CSM: Block-Wise-Transfer (BERT) offered.</summary>
    public bool BlockWiseTransfer { get; init; }

    /// <summary>Ping/Pong: Custody asked for.</summary>
    public bool Custody { get; init; }

    /// <summary>Release: Hold-Off seconds, when given.</summary>
    public uint? HoldOff { get; init; }

    /// <summary>
    /// The first critical (odd-numbered, RFC 7252 §5.4.1) option this library does not know for this code: RFC 8323
    /// §5.3 makes an unknown critical option in a CSM a reason to Abort; for other signals it is a message format error.
    /// </summary>
    public int? UnknownCriticalOption { get; init; }

    /// <summary>The diagnostic payload (Release, Abort), as UTF-8 text.</summary>
    public string? Diagnostic { get; init; }
}

/// <summary>
/// Reads and writes RFC 8323 §5 signaling messages in the RFC 7252 datagram form (convert with
/// <see cref="CoapFraming"/>): a signal carries a token, options numbered per code, and for Release and Abort a
/// diagnostic payload.
/// </summary>
public static class CoapSignaling
{
    /// <summary>Parses the signaling message <paramref name="datagram"/>; an error for a malformed one or one that is not class 7.</summary>
    public static CoapParseError TryParse(ReadOnlyMemory<byte> datagram, out CoapSignal signal)
    {
        signal = default;
        var reader = new CoapReader(datagram.Span, signaling: true);
        if (reader.Error != CoapParseError.None)
        {
            return reader.Error;
        }
        if (!CoapSignalCode.IsSignal(reader.Code))
        {
            return CoapParseError.ReservedCodeClass;
        }
        var code = reader.Code;
        uint? maxMessageSize = null;
        uint? holdOff = null;
        var blockWise = false;
        var custody = false;
        int? unknownCritical = null;
        var token = datagram.Slice(4, reader.TokenLength);
        while (reader.TryReadOption(out var number, out var value))
        {
            var known = true;
            if (code == CoapSignalCode.Csm && number == CoapSignalOption.MaxMessageSize)
            {
                maxMessageSize = ReadUInt(value);
            }
            else if (code == CoapSignalCode.Csm && number == CoapSignalOption.BlockWiseTransfer)
            {
                blockWise = true;
            }
            else if ((code == CoapSignalCode.Ping || code == CoapSignalCode.Pong) && number == CoapSignalOption.Custody)
            {
                custody = true;
            }
            else if (code == CoapSignalCode.Release && number == CoapSignalOption.HoldOff)
            {
                holdOff = ReadUInt(value);
            }
            else
            {
                known = (code == CoapSignalCode.Release && number == CoapSignalOption.AlternativeAddress)
                    || (code == CoapSignalCode.Abort && number == CoapSignalOption.BadCsmOption);
            }
            if (!known && CoapOptionNumber.IsCritical(number))
            {
                unknownCritical ??= number;
            }
        }
        if (reader.Error != CoapParseError.None)
        {
            return reader.Error;
        }
        var payload = reader.Payload;
        signal = new CoapSignal(code, token)
        {
            MaxMessageSize = maxMessageSize,
            BlockWiseTransfer = blockWise,
            Custody = custody,
            HoldOff = holdOff,
            UnknownCriticalOption = unknownCritical,
            Diagnostic = payload.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(payload),
        };
        return CoapParseError.None;
    }

    /// <summary>§5.3: the Capabilities and Settings Message each side sends first, announcing what it receives.</summary>
    public static byte[] Csm(uint maxMessageSize, bool blockWiseTransfer)
    {
        var message = Signal(CoapSignalCode.Csm, default);
        message.SetUInt(CoapSignalOption.MaxMessageSize, maxMessageSize);
        if (blockWiseTransfer)
        {
            message.AddOption(new CoapOption(CoapSignalOption.BlockWiseTransfer, ReadOnlyMemory<byte>.Empty));
        }
        return CoapSerializer.ToArray(message);
    }

    /// <summary>§5.4: a Ping (a keep-alive or liveness check the peer answers with Pong).</summary>
    public static byte[] Ping(ReadOnlyMemory<byte> token) => CoapSerializer.ToArray(Signal(CoapSignalCode.Ping, token));

    /// <summary>§5.4: the Pong answering a Ping carries the Ping's token.</summary>
    public static byte[] Pong(ReadOnlyMemory<byte> token) => CoapSerializer.ToArray(Signal(CoapSignalCode.Pong, token));

    /// <summary>§5.5: Release: the sender will close the connection; the peer should finish and go (after Hold-Off, if given).</summary>
    public static byte[] Release(string? diagnostic, uint? holdOffSeconds = null)
    {
        var message = Signal(CoapSignalCode.Release, default);
        if (holdOffSeconds is { } holdOff)
        {
            message.SetUInt(CoapSignalOption.HoldOff, holdOff);
        }
        return CoapSerializer.ToArray(WithDiagnostic(message, diagnostic));
    }

    /// <summary>§5.6: Abort: the connection is closed now, with a diagnostic and, for a bad CSM, the option that caused it.</summary>
    public static byte[] Abort(string? diagnostic, int? badCsmOption = null)
    {
        var message = Signal(CoapSignalCode.Abort, default);
        if (badCsmOption is { } option)
        {
            message.SetUInt(CoapSignalOption.BadCsmOption, (uint)option);
        }
        return CoapSerializer.ToArray(WithDiagnostic(message, diagnostic));
    }

    private static CoapMessage Signal(CoapCode code, ReadOnlyMemory<byte> token) => new()
    {
        // Type and message id do not exist on reliable transports (§3.2): the framing drops them.
        Type = CoapMessageType.NonConfirmable,
        Code = code,
        Token = token,
    };

    private static CoapMessage WithDiagnostic(CoapMessage message, string? diagnostic)
    {
        if (!string.IsNullOrEmpty(diagnostic))
        {
            message.Payload = System.Text.Encoding.UTF8.GetBytes(diagnostic);
        }
        return message;
    }

    private static uint? ReadUInt(ReadOnlySpan<byte> value)
    {
        if (value.Length > 4)
        {
            return null;
        }
        uint result = 0;
        foreach (var b in value)
        {
            result = (result << 8) | b;
        }
        return result;
    }
}
