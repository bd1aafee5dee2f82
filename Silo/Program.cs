using NHub.Gateway;
using NHub.ManagementApi;
using NHub.ServiceDefaults;
using NHub.Silo.Hosting;
using NHub.Silo.Migrations;
using Orleans.Dashboard;

return await StartupGuard.RunAsync("NHub.Silo", async () =>
{
    var builder = WebApplication.CreateBuilder(args);

    if (args is ["migrate", ..])
    {
        return await MigrateCommand.RunAsync(builder.Configuration);
    }

    builder.AddServiceDefaults();
    builder.AddNHubSilo();
    builder.AddManagementApi();
    builder.AddCoapGateway();

    var app = builder.Build();
    app.MapDefaultEndpoints();
    app.MapCoapWebSockets();
    app.MapOrleansDashboard(routePrefix: "/dashboard");
    app.MapManagementApi();
    await app.RunValidatedAsync();
    return 0;
});
