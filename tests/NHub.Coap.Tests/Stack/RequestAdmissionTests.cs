using NHub.Coap.Stack;

namespace NHub.Coap.Tests.Stack;

/// <summary>The global bound's state machine on its own: run, wait in arrival order, refuse, hand the slot on.</summary>
public sealed class RequestAdmissionTests
{
    [Fact]
    public void Requests_run_up_to_the_bound_then_wait_then_are_refused()
    {
        var started = new List<int>();
        var admission = new RequestAdmission<int>(maxRunning: 2, maxWaiting: 2, started.Add);

        Assert.Equal(Admission.Run, admission.TryAdmit(1));
        Assert.Equal(Admission.Run, admission.TryAdmit(2));
        Assert.Equal(Admission.Queued, admission.TryAdmit(3));
        Assert.Equal(Admission.Queued, admission.TryAdmit(4));
        Assert.Equal(Admission.Refused, admission.TryAdmit(5));
        Assert.Equal(2, admission.Running);
        Assert.Equal(2, admission.Waiting);
        Assert.Empty(started); // the caller starts what was admitted with Run itself
    }

    [Fact]
    public void A_release_hands_the_slot_to_the_oldest_waiting_request()
    {
        var started = new List<int>();
        var admission = new RequestAdmission<int>(maxRunning: 1, maxWaiting: 10, started.Add);
        Assert.Equal(Admission.Run, admission.TryAdmit(1));
        admission.TryAdmit(2);
        admission.TryAdmit(3);

        admission.Release();
        Assert.Equal([2], started);
        Assert.Equal(1, admission.Running); // passed on, not freed
        Assert.Equal(1, admission.Waiting);

        admission.Release();
        admission.Release();
        Assert.Equal([2, 3], started);
        Assert.Equal(0, admission.Running);
        Assert.Equal(Admission.Run, admission.TryAdmit(4));
    }

    [Fact]
    public void With_no_waiting_line_a_full_server_refuses_at_once()
    {
        var admission = new RequestAdmission<int>(maxRunning: 1, maxWaiting: 0, _ => { });
        Assert.Equal(Admission.Run, admission.TryAdmit(1));
        Assert.Equal(Admission.Refused, admission.TryAdmit(2));
        admission.Release();
        Assert.Equal(Admission.Run, admission.TryAdmit(3));
    }

    [Fact]
    public async Task Requests_that_finish_synchronously_do_not_start_each_other_without_end_on_one_stack()
    {
        // Each started request completes at once and releases its slot from inside start: past a few levels the
        // next one must come from the thread pool, or 20,000 waiting requests would be 20,000 nested frames.
        const int waiting = 1_000;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var starts = 0;
        var maxDepth = 0;
        using var depth = new ThreadLocal<int>();
        var poolStarts = 0;
        RequestAdmission<int>? admission = null;
        admission = new RequestAdmission<int>(maxRunning: 1, maxWaiting: waiting, item =>
        {
            if (Thread.CurrentThread.IsThreadPoolThread && depth.Value == 0)
            {
                Interlocked.Increment(ref poolStarts);
            }
            depth.Value++;
            InterlockedMax(ref maxDepth, depth.Value);
            if (Interlocked.Increment(ref starts) == waiting)
            {
                done.SetResult();
            }
            admission!.Release();
            depth.Value--;
        });
        var thread = new Thread(() =>
        {
            Assert.Equal(Admission.Run, admission.TryAdmit(0));
            for (var i = 1; i <= waiting; i++)
            {
                Assert.Equal(Admission.Queued, admission.TryAdmit(i));
            }
            admission.Release();
        });
        thread.Start();
        thread.Join();

        await done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(waiting, starts);
        Assert.InRange(maxDepth, 1, 16);
        Assert.True(poolStarts > 0, "deep chains continue on the thread pool");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen && Interlocked.CompareExchange(ref target, value, seen) is var now && now != seen)
        {
            seen = now;
        }
    }
}
