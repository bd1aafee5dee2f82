using Microsoft.Extensions.Time.Testing;
using NHub.Coap.Internal;

namespace NHub.Coap.Tests.Internal;

public sealed class DeadlineQueueTests
{
    private sealed class Item(string name)
    {
        public string Name { get; } = name;
        public long Due { get; set; }
        public bool Cancelled { get; set; }
    }

    private readonly FakeTimeProvider _time = new();
    private readonly List<string> _fired = [];

    private DeadlineQueue<Item> Create() =>
        new(_time, (item, due) => !item.Cancelled && item.Due == due, item => _fired.Add(item.Name));

    private void Schedule(DeadlineQueue<Item> queue, Item item, TimeSpan after)
    {
        item.Due = _time.GetTimestamp() + after.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond;
        queue.Schedule(item, item.Due);
    }

    [Fact]
    public void Items_fire_in_deadline_order_on_one_timer()
    {
        using var queue = Create();
        Schedule(queue, new Item("c"), TimeSpan.FromSeconds(3));
        Schedule(queue, new Item("a"), TimeSpan.FromSeconds(1));
        Schedule(queue, new Item("b"), TimeSpan.FromSeconds(2));
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Empty(_fired);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["a"], _fired);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(["a", "b", "c"], _fired);
    }

    [Fact]
    public void Cancelled_and_rescheduled_slots_are_skipped()
    {
        using var queue = Create();
        var cancelled = new Item("x");
        var moved = new Item("y");
        Schedule(queue, cancelled, TimeSpan.FromSeconds(1));
        Schedule(queue, moved, TimeSpan.FromSeconds(1));
        cancelled.Cancelled = true;
        queue.Cancelled();
        Schedule(queue, moved, TimeSpan.FromSeconds(4)); // the 1 s slot is now stale
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Empty(_fired);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(["y"], _fired);
    }

    [Fact]
    public void Stale_slots_are_compacted_away()
    {
        using var queue = Create();
        for (var i = 0; i < 10_000; i++)
        {
            var item = new Item("i");
            Schedule(queue, item, TimeSpan.FromMinutes(1));
            item.Cancelled = true;
            queue.Cancelled();
        }
        Assert.True(queue.Count <= 130, $"{queue.Count} slots held for nothing outstanding");
    }

    [Fact]
    public void A_callback_may_schedule_again()
    {
        var fired = 0;
        DeadlineQueue<Item>? queue = null;
        var item = new Item("again");
        queue = new DeadlineQueue<Item>(_time, (i, due) => i.Due == due, i =>
        {
            if (++fired < 3)
            {
                Schedule(queue!, i, TimeSpan.FromSeconds(1));
            }
        });
        using (queue)
        {
            Schedule(queue, item, TimeSpan.FromSeconds(1));
            for (var s = 0; s < 10; s++)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
            }
            Assert.Equal(3, fired);
        }
    }
}
