namespace NHub.Grains;

/// <summary>One firmware image, keyed by version. Images are stored durably (PostgreSQL in production).</summary>
[Alias("nhub.IFirmwareGrain")]
public interface IFirmwareGrain : IGrainWithStringKey
{
    /// <summary>Stores (or replaces) the image; returns its size and SHA-256.</summary>
    [Alias("Store")]
    Task<FirmwareInfo> Store(byte[] content);

    [Alias("GetInfo")]
    Task<FirmwareInfo?> GetInfo();

    /// <summary>The image with its bytes, or null when the version does not exist.</summary>
    [Alias("GetImage")]
    Task<FirmwareImage?> GetImage();

    [Alias("Delete")]
    Task<bool> Delete();
}

/// <summary>Lists firmware images (key 0).</summary>
[Alias("nhub.IFirmwareCatalogGrain")]
public interface IFirmwareCatalogGrain : IGrainWithIntegerKey
{
    [Alias("List")]
    Task<IReadOnlyList<FirmwareInfo>> List();

    /// <summary>
    /// The version's size and hash, or null when it does not exist: asked here, not of the version's own grain, so
    /// looking up a version that does not exist activates nothing (a device asking for thousands of unknown
    /// versions leaves no state behind).
    /// </summary>
    [Alias("Find")]
    Task<FirmwareInfo?> Find(string version);
}
