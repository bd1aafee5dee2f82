namespace NHub.Gateway.Resources;

/// <summary>This gateway's identity for downlink routing (<c>Gateway:Id</c>, or new per start).</summary>
public sealed record GatewayIdentity(Guid Id);
