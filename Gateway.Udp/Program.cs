using NHub.Gateway;
using NHub.ServiceDefaults;

// Standalone CoAP gateway: an Orleans client of a running cluster (the production shape).
return await StartupGuard.RunAsync("NHub.Gateway.Udp", async () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddServiceDefaults();
    builder.AddNHubOrleansClient();
    builder.AddCoapGateway();

    var app = builder.Build();
    app.MapDefaultEndpoints();
    app.MapCoapWebSockets();
    await app.RunValidatedAsync();
    return 0;
});
