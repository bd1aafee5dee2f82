using System.Runtime.InteropServices;
using NHub.DeviceSimulator;

if (args is [] or ["--help"] or ["-h"] or ["help"])
{
    Console.WriteLine(SimulatorOptions.Usage);
    return 0;
}
SimulatorOptions options;
try
{
    options = SimulatorOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(SimulatorOptions.Usage);
    return 2;
}
using var cts = new CancellationTokenSource();
// Ctrl+C and SIGTERM end the measured window early; the report is still written.
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
try
{
    return options.Command switch
    {
        "provision" => await Commands.ProvisionAsync(options, cts.Token),
        "stream-audit" => await NHub.DeviceSimulator.Audit.StreamAuditCommand.RunAsync(options, cts.Token),
        "flood" => await NHub.DeviceSimulator.Flood.FloodCommand.RunAsync(options, cts.Token),
        _ when options.Processes > 1 => await ProcessFleet.RunAsync(options, args, cts.Token),
        _ => await Commands.RunAsync(options, cts.Token),
    };
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    Console.Error.WriteLine("stopped during setup");
    return 130;
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    Console.Error.WriteLine("stopped during setup");
    return 130;
}
catch (Exception ex) when (ex is ArgumentException or FormatException or HttpRequestException or IOException)
{
    Console.Error.WriteLine();
    Console.Error.WriteLine("error: " + ex.Message);
    return 2;
}

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cts.Cancel();
}
