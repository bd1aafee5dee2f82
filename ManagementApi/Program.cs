using NHub.ManagementApi;
using NHub.ServiceDefaults;

// Standalone management API: an Orleans client of a running cluster (the production shape).
return await StartupGuard.RunAsync("NHub.ManagementApi", async () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddServiceDefaults();
    builder.AddNHubOrleansClient();
    builder.AddManagementApi();

    var app = builder.Build();
    app.MapDefaultEndpoints();
    app.MapManagementApi();
    await app.RunValidatedAsync();
    return 0;
});
