namespace NHub.Coap.Stack;

/// <summary>How a confirmable message this server sent ended.</summary>
public enum ConfirmableOutcome
{
    Acknowledged,
    Reset,
    TimedOut,

    /// <summary>Replaced by a newer notification of the same relation (RFC 7641 §4.5.2) or cancelled by the caller.</summary>
    Cancelled,
}
