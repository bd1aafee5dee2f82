using NHub.Coap.Internal;

namespace NHub.Coap.Stack;

/// <summary>
/// RFC 7252 §5.2.2: a confirmable request whose handler has not answered within
/// <see cref="CoapServerOptions.SeparateResponseAfter"/> is acknowledged with an empty ACK, so that the client stops
/// retransmitting, and the response follows later as a confirmable message of its own. One
/// <see cref="DeadlineQueue{T}"/> keeps every slow request's deadline on a single timer: a request costs one small
/// object here, not a timer, a delay task and a WhenAny task of its own (which, at tens of thousands of requests per
/// second, made the runtime's timer queues a contended lock; bench/RESULTS.md, "End to end").
/// <para>
/// Exactly one of the two outcomes happens, decided by one compare-and-swap on <see cref="Pending.State"/>: the
/// handler answers first (<see cref="Answered"/>: the response is piggybacked on the ACK), or the deadline passes first
/// (<see cref="AcknowledgedEmpty"/>: the empty ACK went out, the response will be separate).
/// </para>
/// </summary>
internal sealed class SeparateResponseTimer<TPeer> : IDisposable
    where TPeer : notnull
{
    private const int Waiting = 0;
    private const int Answered = 1;
    private const int AcknowledgedEmpty = 2;

    /// <summary>One slow confirmable request.</summary>
    internal sealed class Pending(TPeer peer, ushort messageId, ulong fingerprint)
    {
        public readonly TPeer Peer = peer;
        public readonly ushort MessageId = messageId;
        public readonly ulong Fingerprint = fingerprint;
        public int State;
    }

    private readonly DeadlineQueue<Pending> _deadlines;
    private readonly TimeProvider _time;
    private readonly long _after;

    /// <param name="after">How long a handler may take before its request is acknowledged empty.</param>
    /// <param name="time">The clock (a fake one in tests).</param>
    /// <param name="acknowledge">Sends the empty ACK for a request whose deadline passed (on the timer's thread).</param>
    public SeparateResponseTimer(TimeSpan after, TimeProvider time, Action<Pending> acknowledge)
    {
        _time = time;
        _after = (long)Math.Ceiling(after.TotalSeconds * time.TimestampFrequency);
        _deadlines = new DeadlineQueue<Pending>(time, static (p, _) => Volatile.Read(ref p.State) == Waiting, p =>
        {
            if (Interlocked.CompareExchange(ref p.State, AcknowledgedEmpty, Waiting) == Waiting)
            {
                acknowledge(p);
            }
        });
    }

    /// <summary>Starts the clock for a request whose handler is still running.</summary>
    public Pending Start(TPeer peer, ushort messageId, ulong fingerprint)
    {
        var pending = new Pending(peer, messageId, fingerprint);
        _deadlines.Schedule(pending, _time.GetTimestamp() + _after);
        return pending;
    }

    /// <summary>
    /// The handler has its response: true when the empty ACK already went out (the response must be sent as a
    /// separate confirmable), false when it may still ride on the ACK. An answered request's slot is dropped when it
    /// comes due, without a callback.
    /// </summary>
    public static bool AnswerIsSeparate(Pending pending) =>
        Interlocked.CompareExchange(ref pending.State, Answered, Waiting) == AcknowledgedEmpty;

    public void Dispose() => _deadlines.Dispose();
}
