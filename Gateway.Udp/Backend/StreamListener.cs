using Microsoft.Extensions.Hosting;
using NHub.Grains;
using Orleans.Streams;

namespace NHub.Gateway.Backend;

/// <summary>
/// A hosted subscription to one of the platform's Orleans streams (<see cref="PlatformStreams"/>): subscribes
/// at start, unsubscribes at stop, and hands each item to <see cref="OnItemAsync"/>.
/// </summary>
public abstract class StreamListener<T>(IClusterClient cluster, string streamNamespace, Guid key) : IHostedService
{
    private StreamSubscriptionHandle<T>? _subscription;

    protected IClusterClient Cluster { get; } = cluster;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var stream = Cluster.GetStreamProvider(PlatformStreams.ProviderName)
            .GetStream<T>(StreamId.Create(streamNamespace, key));
        _subscription = await stream.SubscribeAsync((item, _) => OnItemAsync(item));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync();
        }
    }

    /// <summary>One item of the stream, in order.</summary>
    protected abstract Task OnItemAsync(T item);
}
