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
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
try
{
    return options.Command == "provision"
        ? await Commands.ProvisionAsync(options, cts.Token)
        : await Commands.RunAsync(options, cts.Token);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or HttpRequestException or IOException)
{
    Console.Error.WriteLine();
    Console.Error.WriteLine("error: " + ex.Message);
    return 2;
}
