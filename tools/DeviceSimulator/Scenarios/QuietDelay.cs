namespace NHub.DeviceSimulator.Scenarios;

/// <summary>A wait that ends early, without an exception, when the run is cancelled (the caller's loop checks the token).</summary>
internal static class QuietDelay
{
    public static async Task WaitAsync(TimeSpan delay, CancellationToken ct)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }
        try
        {
            await Task.Delay(delay, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // the run ends
        }
    }
}
