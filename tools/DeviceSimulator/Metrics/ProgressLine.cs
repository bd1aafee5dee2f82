namespace NHub.DeviceSimulator.Metrics;

/// <summary>A live status line, rewritten in place (\r) — only when stdout is a terminal, so logs and pipes stay clean.</summary>
public sealed class ProgressLine
{
    private readonly bool _enabled = !Console.IsOutputRedirected;
    private readonly Lock _gate = new();
    private int _width;

    public void Show(string text)
    {
        if (!_enabled)
        {
            return;
        }
        lock (_gate)
        {
            Console.Write("\r" + text.PadRight(_width));
            _width = Math.Max(_width, text.Length);
        }
    }

    /// <summary>Ends the line so the summary starts on a fresh one.</summary>
    public void Done()
    {
        if (_enabled && _width > 0)
        {
            Console.WriteLine();
        }
    }
}
