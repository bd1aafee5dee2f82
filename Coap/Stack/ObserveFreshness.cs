namespace NHub.Coap.Stack;

/// <summary>
/// The client side of RFC 7641 §3.4: whether a notification is newer than the last one accepted, so reordered
/// notifications are not taken for fresh state (used by the load generator and any observing client).
/// </summary>
public static class ObserveFreshness
{
    /// <summary>2^23: half the 24-bit sequence space.</summary>
    private const uint Half = 1u << 23;

    /// <summary>§3.4: notifications more than 128 s apart are ordered by arrival, whatever their numbers.</summary>
    public static readonly TimeSpan ReorderWindow = TimeSpan.FromSeconds(128);

    /// <summary>
    /// RFC 7641 §3.4: the notification (V2, T2) is newer than (V1, T1) when
    /// <c>(V1 &lt; V2 and V2 − V1 &lt; 2^23) or (V1 &gt; V2 and V1 − V2 &gt; 2^23) or T2 &gt; T1 + 128 s</c>.
    /// Values are the 24-bit Observe option values.
    /// </summary>
    public static bool IsNewer(uint previous, DateTimeOffset previousReceived, uint next, DateTimeOffset nextReceived)
    {
        previous &= 0xFFFFFF;
        next &= 0xFFFFFF;
        return (previous < next && next - previous < Half)
            || (previous > next && previous - next > Half)
            || nextReceived > previousReceived + ReorderWindow;
    }
}
