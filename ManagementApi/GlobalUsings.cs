// The namespaces most files of the management API use: the grain contracts, and the minimal-API pieces every endpoint is made of.
global using Microsoft.AspNetCore.Http.HttpResults;
global using Microsoft.AspNetCore.Mvc;
global using NHub.Grains;
global using NHub.ManagementApi.Contracts;
global using NHub.ManagementApi.Http;
