namespace NHub.Coap;

/// <summary>CoAP message type (RFC 7252 §3: the 2-bit T field).</summary>
public enum CoapMessageType : byte
{
    Confirmable = 0,
    NonConfirmable = 1,
    Acknowledgement = 2,
    Reset = 3,
}
