namespace NHub.Grains;

/// <summary>
/// A commands relation moved to the gateway now holding the device's session (<see cref="IDeviceGrain.ResumeObservingCommands"/>):
/// what it needs to notify the device as if it had taken the registration itself.
/// </summary>
/// <param name="Token">The registration's token, carried by every notification (RFC 7641 §3.2).</param>
/// <param name="ContentFormat">The format of every notification.</param>
/// <param name="ObserveSequence">
/// The Observe option value for the first notification from the new gateway; later ones count up from it (24 bits,
/// RFC 7641 §4.4). The client takes a notification as newer only if its value is ahead of the last one it got, in
/// serial-number order, or if more than 128 s passed (§3.4); the new gateway does not know the last value the previous
/// one sent, so the twin hands out a value 2^16 ahead of the previous holder's start: newer than anything that holder
/// sent provided it sent fewer than 65 536 notifications on the relation.
/// </param>
/// <param name="Commands">
/// Every command not delivered yet (queued ones are now marked sent): the first notification must carry them all,
/// including those the previous gateway sent and the device never acknowledged.
/// </param>
[GenerateSerializer, Immutable, Alias("nhub.ResumedObservation")]
public sealed record ResumedObservation(
    [property: Id(0)] byte[] Token,
    [property: Id(1)] int ContentFormat,
    [property: Id(2)] int ObserveSequence,
    [property: Id(3)] IReadOnlyList<CommandInfo> Commands);
