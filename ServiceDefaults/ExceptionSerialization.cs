using Orleans.Serialization;

namespace NHub.ServiceDefaults;

/// <summary>
/// Which exceptions a grain call can carry back to its caller. Orleans serializes only exceptions from the
/// Microsoft, System and Azure namespaces by default; any other one thrown by a grain (an <c>NpgsqlException</c>
/// when PostgreSQL refuses a connection, a NATS exception) fails to serialize (<c>CodecNotFoundException</c>), the
/// response is never sent and the caller waits for the 30 s response timeout. The drivers our grains use are added,
/// so a storage failure reaches the gateway or the API at once (which answer 5.03 / 503). Silos and clients must
/// agree, so both call this. A caller without the driver's assembly gets Orleans' fallback exception with the same
/// message.
/// </summary>
public static class ExceptionSerialization
{
    private static readonly string[] DriverNamespaces = ["Npgsql", "NATS"];

    public static IServiceCollection AddNHubExceptionSerialization(this IServiceCollection services) =>
        services.Configure<ExceptionSerializationOptions>(o =>
        {
            foreach (var prefix in DriverNamespaces)
            {
                o.SupportedNamespacePrefixes.Add(prefix);
            }
        });
}
