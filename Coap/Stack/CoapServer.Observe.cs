namespace NHub.Coap.Stack;

public sealed partial class CoapServer<TPeer>
{
    /// <summary>
    /// Sends a notification on <paramref name="relation"/> (RFC 7641 §4.2): next sequence number, the registration's
    /// token, confirmable when forced or when the §4.5 policy says so. A newer notification supersedes one still in
    /// flight (§4.5.2: its retransmissions stop, its callback sees <see cref="ConfirmableOutcome.Cancelled"/>). A
    /// confirmable notification that is reset or never acknowledged removes the relation (§3.6, §4.5).
    /// <paramref name="onOutcome"/> gets Acknowledged (for NON: on sending), Reset, TimedOut or Cancelled.
    /// </summary>
    public bool Notify(ObserveRelation<TPeer> relation, CoapResponse notification, bool forceConfirmable, Action<ConfirmableOutcome>? onOutcome = null)
    {
        if (!relation.IsActive)
        {
            return false;
        }
        var (sequence, confirmable) = Observers.NextNotification(relation, forceConfirmable);
        if (relation.InFlight is { } superseded)
        {
            Confirmables.Cancel(relation.Peer, superseded);
        }
        var request = new CoapMessage { Code = CoapCode.Get, Token = relation.Token };
        var message = ToMessage(request, notification, observeSequence: sequence);
        message.MessageId = Confirmables.NextMessageId(relation.Peer);
        message.Type = confirmable ? CoapMessageType.Confirmable : CoapMessageType.NonConfirmable;
        var bytes = CoapSerializer.ToArray(message);
        if (!confirmable)
        {
            relation.LastNonConfirmable = message.MessageId;
            _send(relation.Peer, bytes);
            onOutcome?.Invoke(ConfirmableOutcome.Acknowledged);
            return true;
        }
        var messageId = message.MessageId;
        relation.InFlight = messageId;
        var sent = Confirmables.Send(relation.Peer, messageId, bytes, outcome =>
        {
            if (relation.InFlight == messageId)
            {
                relation.InFlight = null;
            }
            if (outcome is ConfirmableOutcome.Reset)
            {
                Observers.Remove(relation, RelationEndReason.Reset);
            }
            else if (outcome is ConfirmableOutcome.TimedOut)
            {
                Observers.Remove(relation, RelationEndReason.NotificationFailed);
            }
            onOutcome?.Invoke(outcome);
        });
        if (!sent)
        {
            relation.InFlight = null;
            onOutcome?.Invoke(ConfirmableOutcome.Cancelled);
        }
        return sent;
    }
}
