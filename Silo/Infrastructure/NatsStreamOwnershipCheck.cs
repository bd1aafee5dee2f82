using NATS.Client.Core;
using NATS.Client.JetStream;
using NHub.Grains;
using NHub.ServiceDefaults;

namespace NHub.Silo.Infrastructure;

/// <summary>
/// Refuses to start when another JetStream stream already captures the Orleans stream provider's subjects.
/// </summary>
/// <remarks>
/// The NATS provider stores events on subjects <c>{provider}.&gt;</c> (provider name, not stream name) and ignores the
/// "subjects overlap" error (10065) when its stream cannot be created. A second deployment on the same NATS account
/// then publishes into the first one's stream and never receives an event: no error anywhere. Run one NHub
/// deployment per NATS account, or this check stops the silo with the name of the stream in the way.
/// </remarks>
public sealed class NatsStreamOwnershipCheck(PlatformMode mode, NatsSettings settings) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = mode.NatsUrl!, Name = "nhub-startup-check", ConnectTimeout = TimeSpan.FromSeconds(5) });
        var js = new NatsJSContext(nats);
        var subject = PlatformStreams.ProviderName + ".>";
        try
        {
            await foreach (var name in js.ListStreamNamesAsync(subject, cancellationToken))
            {
                if (!string.Equals(name, settings.OrleansStreamName, StringComparison.Ordinal))
                {
                    throw new ConfigurationValidationException(
                        $"JetStream stream '{name}' already captures subjects '{subject}' on {mode.NatsUrl}: another deployment uses this NATS account. " +
                        $"Orleans stream events of this cluster (Nats:OrleansStreamName '{settings.OrleansStreamName}') would be lost. Use a separate NATS account or server per deployment.");
                }
            }
        }
        catch (NatsException)
        {
            // NATS unreachable at start: the provider retries and readiness reports it; nothing to compare yet.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
