namespace NHub.Grains;

/// <summary>
/// The twin of one device, keyed by device id. Holds the device record and (as the platform grows)
/// credentials, online status, pending commands and firmware progress. Knows nothing of CoAP or DTLS.
/// </summary>
[Alias("nhub.IDeviceGrain")]
public interface IDeviceGrain : IGrainWithStringKey
{
    /// <summary>Creates the device, or updates its record if it exists. Durable when the call returns.</summary>
    [Alias("Provision")]
    Task<DeviceTwin> Provision(DeviceRecord record);

    /// <summary>The twin, or null when the device was never provisioned.</summary>
    [Alias("GetTwin")]
    Task<DeviceTwin?> GetTwin();
}
