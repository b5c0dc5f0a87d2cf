"""Security and governance: privacy masks of channels, and asset and connection monitoring
(资产、漏洞、违规内外联) of the devices that talk to the platform."""

from xueliang.security.privacy import PrivacyMaskRow, load_privacy_masks, save_privacy_masks

__all__ = ["PrivacyMaskRow", "load_privacy_masks", "save_privacy_masks"]
