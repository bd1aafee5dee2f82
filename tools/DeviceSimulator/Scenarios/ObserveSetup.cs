using NHub.Coap;
using NHub.DeviceSimulator.Devices;

namespace NHub.DeviceSimulator.Scenarios;

/// <summary>Registers every connected device's Observe relation on <c>/commands/&lt;id&gt;</c> (RFC 7641 §3.1; docs/commands.md).</summary>
internal static class ObserveSetup
{
    /// <summary>Returns how many registrations were accepted (2.05 carrying an Observe option); the rest are counted by outcome.</summary>
    public static async Task<int> RegisterAllAsync(RunContext context, Action<string> progress, CancellationToken ct, int concurrency = 256)
    {
        var observing = 0;
        var done = 0;
        var registrations = context.Devices.ToArray();
        var work = Parallel.ForEachAsync(registrations, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (device, _) =>
        {
            var path = "/commands/" + device.DeviceId;
            device.NewObserveRequest(path);
            var reply = await device.SendAsync(keepMessage: true).ConfigureAwait(false);
            if (reply is { Status: ReplyStatus.Response, Message: { } m } && m.Code == CoapCode.Content && m.Observe is not null)
            {
                Interlocked.Increment(ref observing);
            }
            else
            {
                context.Outcomes.Add("observe_" + (reply.Status == ReplyStatus.Response ? reply.Code.ToString() : reply.Failure ?? reply.Status.ToString().ToLowerInvariant()));
            }
            Interlocked.Increment(ref done);
        });
        while (await Task.WhenAny(work, Task.Delay(1000, ct)).ConfigureAwait(false) != work)
        {
            progress($"observe registrations {Volatile.Read(ref done)}/{registrations.Length}");
        }
        await work.ConfigureAwait(false);
        return observing;
    }
}
