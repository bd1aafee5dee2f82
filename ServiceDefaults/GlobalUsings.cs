// The namespaces most files of the shared host defaults use: every one of them configures a host.
global using Microsoft.Extensions.Configuration;
global using Microsoft.Extensions.DependencyInjection;
global using Microsoft.Extensions.Hosting;
