using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace NHub.Testing;

/// <summary>
/// A child process whose output is captured line by line, so a test can wait for a line (an event, not a sleep)
/// and show the tail of the output when something fails. Stopped (SIGTERM, then kill) on dispose.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _errors = new();
    private readonly List<(Regex Pattern, TaskCompletionSource<Match> Signal)> _waiters = [];
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name { get; }

    private ExternalProcess(string name, ProcessStartInfo info)
    {
        Name = name;
        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, stderr: true);
        _process.Exited += (_, _) =>
        {
            // Exited can fire before the asynchronous readers delivered the last lines; the parameterless
            // WaitForExit waits for both streams to reach end of file, so Output is complete when Exited completes.
            _process.WaitForExit();
            _exited.TrySetResult(SafeExitCode());
        };
    }

    public int Id => _process.Id;

    public bool HasExited => _exited.Task.IsCompleted;

    public Task<int> Exited => _exited.Task;

    /// <summary>What the process wrote to stderr alone (also part of <see cref="Output"/>).</summary>
    public string Errors
    {
        get
        {
            lock (_gate)
            {
                return _errors.ToString();
            }
        }
    }

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    public static ExternalProcess Start(string name, string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }
        var p = new ExternalProcess(name, info);
        p._process.Start();
        p._process.BeginOutputReadLine();
        p._process.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs a command to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var (code, output, _) = await RunCapturedAsync(fileName, args, timeout, environment);
        return (code, output);
    }

    /// <summary>Runs a command to completion: its exit code, all output, and stderr alone.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunCapturedAsync(string fileName, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        await using var p = Start(Path.GetFileName(fileName), fileName, args, environment);
        p._process.StandardInput.Close();
        var exited = await Task.WhenAny(p.Exited, Task.Delay(timeout));
        if (exited != p.Exited)
        {
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish within {timeout}:\n{p.Tail()}");
        }
        p._process.WaitForExit(); // drains the asynchronous output readers
        return (await p.Exited, p.Output, p.Errors);
    }

    /// <summary>Completes when a line matching <paramref name="pattern"/> has been printed (including earlier lines).</summary>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant);
        var tcs = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            foreach (var line in _output.ToString().Split('\n'))
            {
                var m = regex.Match(line);
                if (m.Success)
                {
                    return m;
                }
            }
            _waiters.Add((regex, tcs));
        }
        var done = await Task.WhenAny(tcs.Task, _exited.Task, Task.Delay(timeout));
        if (done == tcs.Task)
        {
            return await tcs.Task;
        }
        var why = done == _exited.Task ? $"exited with code {await _exited.Task}" : $"printed no line matching /{pattern}/ within {timeout}";
        throw new InvalidOperationException($"{Name} {why}. Output tail:\n{Tail()}");
    }

    /// <summary>Writes one line to the process's standard input (for drivers that wait for the test's go-ahead).</summary>
    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    public string Tail(int lines = 60)
    {
        var all = Output.Split('\n');
        return string.Join('\n', all[Math.Max(0, all.Length - lines)..]);
    }

    /// <summary>SIGTERM (graceful), then kill after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (HasExited)
        {
            return;
        }
        try
        {
            SendSigterm(_process.Id);
        }
        catch (InvalidOperationException)
        {
            return;
        }
        var done = await Task.WhenAny(_exited.Task, Task.Delay(grace ?? TimeSpan.FromSeconds(15)));
        if (done != _exited.Task)
        {
            Kill();
        }
    }

    /// <summary>Kills the process tree immediately (a crash, from the platform's point of view).</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }

    private void OnLine(string? line, bool stderr = false)
    {
        if (line is null)
        {
            return;
        }
        lock (_gate)
        {
            _output.Append(line).Append('\n');
            if (stderr)
            {
                _errors.Append(line).Append('\n');
            }
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var m = _waiters[i].Pattern.Match(line);
                if (m.Success)
                {
                    _waiters[i].Signal.TrySetResult(m);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private int SafeExitCode()
    {
        try
        {
            return _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SysKill(int pid, int signal);

    private static void SendSigterm(int pid)
    {
        const int SIGTERM = 15;
        if (SysKill(pid, SIGTERM) != 0)
        {
            throw new InvalidOperationException("kill failed");
        }
    }
}
